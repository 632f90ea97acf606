import { describe, expect, it } from 'vitest';
import { CliError, helpText, parseFlags, progressBar } from '../src/index.js';

const spec = {
  name: 'otaflow-x',
  summary: 'does x',
  flags: {
    port: { type: 'number', env: 'PORT', default: 8080, description: 'HTTP port' },
    mqttUrl: { type: 'string', env: 'MQTT_URL', description: 'broker URL', placeholder: 'URL' },
    inspect: { type: 'boolean', default: false, description: 'stream to the inspector' },
    name: { type: 'string', short: 'n', default: 'dev', description: 'device name' },
  },
} as const;

describe('parseFlags', () => {
  it('takes flags, then the environment, then defaults', () => {
    const r = parseFlags(spec, ['--port', '9000', '--inspect', '-n', 'a'], {
      MQTT_URL: 'mqtt://h',
    });
    expect(r).toEqual({
      help: false,
      values: { port: 9000, mqttUrl: 'mqtt://h', inspect: true, name: 'a' },
    });
    const env = parseFlags(spec, [], { PORT: '81' });
    expect(env.help === false && env.values).toEqual({
      port: 81,
      mqttUrl: undefined,
      inspect: false,
      name: 'dev',
    });
  });
  it('reads --flag=value and --no-flag', () => {
    const r = parseFlags(spec, ['--mqtt-url=mqtt://x', '--no-inspect'], {});
    expect(r.help === false && r.values.mqttUrl).toBe('mqtt://x');
    expect(r.help === false && r.values.inspect).toBe(false);
  });
  it('refuses unknown flags and bad values with a typed error', () => {
    expect(() => parseFlags(spec, ['--nope'], {})).toThrow(CliError);
    expect(() => parseFlags(spec, ['--port', 'x'], {})).toThrow(/must be a number/);
    expect(() => parseFlags(spec, [], { PORT: 'x' })).toThrow(/\$PORT/);
    expect(() => parseFlags(spec, ['--port'], {})).toThrow(/needs a value/);
  });
  it('prints help with env names and defaults', () => {
    const r = parseFlags(spec, ['--help'], {});
    expect(r.help).toBe(true);
    const text = helpText(spec);
    expect(text).toContain('--mqtt-url <URL>');
    expect(text).toContain('env MQTT_URL');
    expect(text).toContain('default 8080');
  });
});

describe('progressBar', () => {
  it('draws proportionally', () => {
    expect(progressBar(5, 10, 10)).toBe('[#####.....]  50% 5/10');
    expect(progressBar(0, 0, 4)).toBe('[####] 100% 0/0');
  });
});

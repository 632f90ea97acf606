export interface SseMessage {
  id?: string;
  event: string;
  data: string;
}

/**
 * Splits a Server-Sent Events byte stream into messages (the parts of the format the backend
 * sends: `id`, `event`, `data`, comments). Feed it text chunks as they come.
 */
export function createSseParser(onMessage: (message: SseMessage) => void) {
  let buffer = '';
  // A CR at a chunk's end may be the first half of a CRLF: it waits for the next chunk.
  let carry = '';
  return (chunk: string) => {
    let text = carry + chunk;
    carry = text.endsWith('\r') ? '\r' : '';
    if (carry) text = text.slice(0, -1);
    buffer += text.replace(/\r\n?/g, '\n');
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf('\n\n');
      const message: SseMessage = { event: 'message', data: '' };
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') message.id = value;
        else if (field === 'event') message.event = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length === 0) continue;
      message.data = data.join('\n');
      onMessage(message);
    }
  };
}

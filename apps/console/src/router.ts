import { useEffect, useState } from 'preact/hooks';

/** The console lives under /ui/; routes are what follows. */
export const BASE = '/ui';

export function currentRoute(): string {
  const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : '/';
  return path === '' ? '/' : path;
}

export function navigate(route: string): void {
  history.pushState(null, '', `${BASE}${route}`);
  dispatchEvent(new PopStateEvent('popstate'));
}

export function useRoute(): string {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const update = () => setRoute(currentRoute());
    addEventListener('popstate', update);
    return () => removeEventListener('popstate', update);
  }, []);
  return route;
}

/** `/targets/:id` against `/targets/dev-1`: the decoded parameters, or undefined. */
export function match(pattern: string, route: string): Record<string, string> | undefined {
  const want = pattern.split('/');
  const have = route.replace(/\/+$/, '').split('/');
  if (want.length !== have.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, part] of want.entries()) {
    const value = have[i] ?? '';
    if (part.startsWith(':')) params[part.slice(1)] = decodeURIComponent(value);
    else if (part !== value) return undefined;
  }
  return params;
}

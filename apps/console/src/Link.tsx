import type { ComponentChildren } from 'preact';
import { BASE, navigate } from './router';

/** An ordinary link (open in a new tab works) that moves within the app without a reload. */
export function Link(props: { to: string; children: ComponentChildren; class?: string }) {
  return (
    <a
      href={`${BASE}${props.to}`}
      class={props.class}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(props.to);
      }}
    >
      {props.children}
    </a>
  );
}

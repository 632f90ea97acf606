/** An update or action status, coloured by what it means. */
export function StatusBadge(props: { status: string }) {
  return (
    <span class={`badge s-${props.status.toLowerCase()}`} data-testid="status">
      {props.status.toLowerCase().replace(/_/g, ' ')}
    </span>
  );
}

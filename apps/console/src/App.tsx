import { useEffect, useState } from 'preact/hooks';
import { authorization, currentUser, logout, onLoggedOut } from './api';
import {
  connectStream,
  disconnectStream,
  onStreamState,
  type StreamState,
  streamState,
} from './events';
import { Link } from './Link';
import { ActionPage } from './pages/ActionPage';
import { LoginPage } from './pages/LoginPage';
import { OverviewPage } from './pages/OverviewPage';
import { RolloutsPage } from './pages/RolloutsPage';
import { SoftwarePage } from './pages/SoftwarePage';
import { TargetPage } from './pages/TargetPage';
import { TargetsPage } from './pages/TargetsPage';
import { match, useRoute } from './router';

export function App() {
  const [loggedIn, setLoggedIn] = useState(() => authorization() !== undefined);
  useEffect(() => onLoggedOut(() => setLoggedIn(false)), []);
  useEffect(() => {
    if (!loggedIn) return;
    connectStream();
    return disconnectStream;
  }, [loggedIn]);
  if (!loggedIn) return <LoginPage onLogin={() => setLoggedIn(true)} />;
  return <Shell />;
}

const NAV = [
  { to: '/', label: 'Overview' },
  { to: '/targets', label: 'Targets' },
  { to: '/software', label: 'Software' },
  { to: '/rollouts', label: 'Rollouts' },
] as const;

function Shell() {
  const route = useRoute();
  const [live, setLive] = useState<StreamState>(streamState);
  useEffect(() => onStreamState(setLive), []);
  const user = currentUser();
  return (
    <>
      <header class="top">
        <span class="brand">otaflow</span>
        <nav aria-label="Main">
          {NAV.map((item) => (
            <Link
              key={item.to}
              to={item.to}
              class={
                (item.to === '/' ? route === '/' : route.startsWith(item.to))
                  ? 'navlink active'
                  : 'navlink'
              }
            >
              {item.label}
            </Link>
          ))}
        </nav>
        <span class={`live ${live}`} role="status" aria-live="polite">
          {live === 'live' ? 'live' : live === 'connecting' ? 'connecting…' : 'offline'}
        </span>
        {user && (
          <span class="who" title="user and tenant">
            {user.username}
            {user.tenant && ` · ${user.tenant}`}
          </span>
        )}
        <button type="button" onClick={logout}>
          Log out
        </button>
      </header>
      <main>{page(route)}</main>
    </>
  );
}

function page(route: string) {
  if (route === '/') return <OverviewPage />;
  if (route === '/targets') return <TargetsPage />;
  const action = match('/targets/:id/actions/:actionId', route);
  if (action)
    return <ActionPage controllerId={action.id ?? ''} actionId={Number(action.actionId)} />;
  const target = match('/targets/:id', route);
  if (target) return <TargetPage controllerId={target.id ?? ''} />;
  if (route === '/software') return <SoftwarePage />;
  if (route === '/rollouts') return <RolloutsPage />;
  return (
    <section>
      <h1>Not found</h1>
      <p>
        No page at <code>{route}</code>. <Link to="/">Back to the overview</Link>.
      </p>
    </section>
  );
}

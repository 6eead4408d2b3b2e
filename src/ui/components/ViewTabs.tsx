/**
 * The main area's tabs over the explorer's views (WAI-ARIA tabs pattern: arrow keys, Home and End move between
 * tabs and show them; Tab goes on into the panel). Hidden views stay mounted inside React's <Activity>, so they
 * keep their state (sort order, scroll, zoom) and do no work: their effects, store subscriptions included, are
 * off while hidden (a training run's snapshots do not redraw them), and they catch up with the store when shown.
 */
import { Activity, type KeyboardEvent, useRef } from 'react';
import { useStore } from '../../state/store';
import type { ViewTab } from '../views/registry';

export function ViewTabs({ tabs }: { tabs: ViewTab[] }) {
  const active = useStore((s) => s.activeView);
  const showView = useStore((s) => s.showView);
  const buttons = useRef(new Map<string, HTMLButtonElement>());
  const current = tabs.find((t) => t.id === active) ?? tabs[0];

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const i = tabs.indexOf(current);
    const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
    if (next === undefined) return;
    e.preventDefault();
    const tab = tabs[(next + tabs.length) % tabs.length];
    showView(tab.id);
    buttons.current.get(tab.id)?.focus();
  };

  return (
    <>
      <div role="tablist" aria-label="Views" className="tabs" onKeyDown={onKeyDown}>
        {tabs.map((t) => (
          <button
            key={t.id}
            ref={(b) => {
              if (b) buttons.current.set(t.id, b);
              else buttons.current.delete(t.id);
            }}
            type="button"
            role="tab"
            id={`tab-${t.id}`}
            aria-selected={t === current}
            aria-controls={`panel-${t.id}`}
            tabIndex={t === current ? 0 : -1}
            className="tab"
            data-testid={`tab-${t.id}`}
            onClick={() => showView(t.id)}
          >
            {t.useTitle ? <DynamicTitle useTitle={t.useTitle} /> : t.title}
          </button>
        ))}
      </div>
      {tabs.map((t) => (
        <Activity key={t.id} mode={t === current ? 'visible' : 'hidden'}>
          <div role="tabpanel" id={`panel-${t.id}`} aria-labelledby={`tab-${t.id}`} tabIndex={0} className="tabpanel">
            <t.Component />
          </div>
        </Activity>
      ))}
    </>
  );
}

/** A tab title that follows the store (its own component, so the hook runs for that tab only). */
function DynamicTitle({ useTitle }: { useTitle: () => string }) {
  return <>{useTitle()}</>;
}

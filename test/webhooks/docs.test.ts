import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderCatalogMarkdown } from '../../src/areas/webhooks/catalog.ts';
import { renderScheduleTable } from '../../src/areas/webhooks/schedule.ts';

describe('webhook documentation', () => {
  it('docs/webhook-events.md is the catalogue as the gateway serves it (regenerate with the command in docs/webhooks.md)', () => {
    expect(fs.readFileSync(new URL('../../docs/webhook-events.md', import.meta.url), 'utf8')).toBe(renderCatalogMarkdown());
  });

  it('docs/webhooks.md shows the retry schedule the workers use', () => {
    expect(fs.readFileSync(new URL('../../docs/webhooks.md', import.meta.url), 'utf8')).toContain(renderScheduleTable());
  });
});

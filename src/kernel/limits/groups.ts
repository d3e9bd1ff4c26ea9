/**
 * Route groups: named rate limits a root field declares in its policy. Each area defines its own
 * groups and defaults with defineRouteGroups() (and a module augmentation of RouteGroups, so a
 * field can only name a defined group). Tenants override any group through the guardrail policy's
 * rate_limit_profile, keyed by group name.
 */
export interface GroupLimit {
  limit: number;
  windowSeconds: number;
}

export type RouteGroup = keyof RouteGroups & string;

const registry = new Map<string, GroupLimit>();

export function defineRouteGroups<const M extends Record<string, GroupLimit>>(groups: M): M {
  for (const [name, limit] of Object.entries(groups)) {
    if (registry.has(name)) throw new Error(`route group ${name} is already defined`);
    registry.set(name, limit);
  }
  return groups;
}

export const isRouteGroup = (name: string): name is RouteGroup => registry.has(name);
export const routeGroupDefaults = (group: RouteGroup): GroupLimit => registry.get(group)!;
export const registeredRouteGroups = (): string[] => [...registry.keys()];

/** Bounds of a tenant override (Paybond Gateway API reference: limit ≤ 1,000,000, window ≤ 86,400 s). */
export const OVERRIDE_BOUNDS = { limit: 1_000_000, windowSeconds: 86_400 };

// Each area augments this interface with its own groups (defineRouteGroups in its limits.ts).
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface RouteGroups {}

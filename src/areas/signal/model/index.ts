/** Pure Signal core: scoring, explanation, fraud signals, release gate, signed artifacts, cohorts. */
export * from './errors.ts';
export * from './beta.ts';
export * from './history.ts';
export * from './params.ts';
export * from './score.ts';
export * from './explain.ts';
export * from './artifacts.ts';
export * from './fraud.ts';
export * from './review.ts';
export * from './gate.ts';
export * from './metrics.ts';
export * from './cohorts.ts';
export * from './views.ts';

export const AREA = 'agent-runs' as const;

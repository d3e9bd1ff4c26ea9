export const AREA = 'compliance' as const;

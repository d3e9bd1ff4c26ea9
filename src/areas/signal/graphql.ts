export const AREA = 'signal' as const;

export const AREA = 'protocol' as const;

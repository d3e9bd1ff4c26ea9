/** The one source of time. Tests pass a ManualClock to move time. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export class ManualClock implements Clock {
  private ms: number;
  constructor(start: Date | number = Date.UTC(2026, 0, 1)) {
    this.ms = typeof start === 'number' ? start : start.getTime();
  }
  now(): Date {
    return new Date(this.ms);
  }
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
  set(date: Date): void {
    this.ms = date.getTime();
  }
}

export const unixSeconds = (date: Date): number => Math.floor(date.getTime() / 1000);

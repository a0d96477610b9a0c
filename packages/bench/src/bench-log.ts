/** The bench's progress line and number formats, shared by every part of the report. */

const t0 = performance.now();
/** Seconds since the bench started. */
export const elapsedS = (): number => (performance.now() - t0) / 1000;
const stamp = () => `[${elapsedS().toFixed(1).padStart(6)}s]`;
export const say = (s: string): void => {
  process.stdout.write(`${stamp()} ${s}\n`);
};
export const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
export const ms = (n: number): string => (!Number.isFinite(n) ? '–' : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0));
export const ratio = (a: number, b: number): string => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : '–');

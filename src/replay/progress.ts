// Progress bar on stderr while a replay runs (only when stderr is a terminal and not --quiet):
// packets, Mpps, percent of the file and ETA, redrawn at most 5 times a second.
export class Progress {
  private start = Date.now();
  private last = 0;
  private shown = false;

  constructor(private readonly totalBytes: number | null, private readonly enabled: boolean,
    private readonly out: NodeJS.WriteStream = process.stderr) {}

  static line(packets: number, bytes: number, totalBytes: number | null, elapsedMs: number): string {
    const s = Math.max(elapsedMs, 1) / 1000;
    const mpps = packets / s / 1e6;
    let pct = '', eta = '', bar = '';
    if (totalBytes && totalBytes > 0) {
      const f = Math.min(1, bytes / totalBytes);
      const w = 24, k = Math.round(f * w);
      bar = `[${'#'.repeat(k)}${'.'.repeat(w - k)}] `;
      pct = ` ${(f * 100).toFixed(1).padStart(5)}%`;
      if (f > 0) {
        const left = Math.max(0, Math.round(s * (1 - f) / f));
        eta = `  ETA ${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}`;
      }
    }
    return `${bar}${packets} packets  ${mpps.toFixed(2)} Mpps${pct}${eta}`;
  }

  update(packets: number, bytes: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 200) return;
    this.last = now;
    this.out.write(`\r${Progress.line(packets, bytes, this.totalBytes, now - this.start)}\x1b[K`);
    this.shown = true;
  }

  done(): void {
    if (this.shown) this.out.write('\r\x1b[K');
    this.shown = false;
  }
}

/** `npm run cli -- cleanup`: removes expired generated files and stale staging folders, and says what went. */
import type { AppDeps } from '../deps.ts';
import { humanSize } from '../lib/text.ts';

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

export async function cleanupCommand(deps: Pick<AppDeps, 'generated'>, io: { out(line: string): void }): Promise<void> {
  const report = await deps.generated.cleanup();
  for (const name of report.generated.removed) io.out(`Removed downloads/tmp/${name}`);
  io.out(
    `Removed ${plural(report.generated.removed.length, 'generated file', 'generated files')} (${humanSize(report.generated.freedBytes)}) ` +
      `and ${plural(report.staging, 'stale staging folder', 'stale staging folders')}`,
  );
}

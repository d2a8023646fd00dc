/**
 * How commands speak: human text by default, one JSON document with --json;
 * every error is one line on stderr and a non-zero exit (a stack trace only
 * with --verbose).
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message)
  }
}

export interface OutputOptions {
  json?: boolean
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
}

export function print(line = ''): void {
  process.stdout.write(`${line}\n`)
}

/** A table with a header row; columns sized to their widest cell. */
export function table(rows: string[][]): string {
  const widths: number[] = []
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length)
  }
  return rows
    .map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  '))
    .join('\n')
}

export function reportError(err: unknown, verbose: boolean): number {
  const e = err as Error
  const message = e?.message ?? String(err)
  process.stderr.write(`error: ${message}\n`)
  if (verbose && e?.stack) process.stderr.write(`${e.stack}\n`)
  return err instanceof CliError ? err.exitCode : 1
}

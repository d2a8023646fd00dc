import { InvalidArgumentError } from 'commander'

/** A non-negative integer flag value. */
export function intOption(value: string): number {
  const n = Number(value)
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n))
    throw new InvalidArgumentError('must be a whole number')
  return n
}

/** Collect a repeatable flag (`--bootstrap A --bootstrap B`) or a space-separated list. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

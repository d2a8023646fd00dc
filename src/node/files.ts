import { mkdir, open, readFile, rename } from 'node:fs/promises'
import { dirname } from 'node:path'

/** A file that is missing, unreadable or ill-formed: the message names the file and the field. */
export class FileError extends Error {
  override readonly name = 'FileError'
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`)
  }
}

/** Read and parse a JSON file; FileError on a missing file or bad JSON. */
export async function readJsonFile(file: string): Promise<unknown> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new FileError(file, code === 'ENOENT' ? 'no such file' : `cannot read (${code})`)
  }
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new FileError(file, `not valid JSON (${(err as Error).message})`)
  }
}

/**
 * Write a file atomically (temp file, fsync, rename) with the given mode:
 * a crash leaves either the old file or the new one, never half of one.
 */
export async function writeFileAtomic(file: string, data: string, mode = 0o644): Promise<void> {
  await mkdir(dirname(file), { recursive: true })
  const tmp = `${file}.${process.pid}.tmp`
  const fh = await open(tmp, 'w', mode)
  try {
    await fh.writeFile(data)
    await fh.chmod(mode)
    await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, file)
}

export async function writeJsonFile(file: string, value: unknown, mode = 0o644): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`, mode)
}

/** Write a JSON file only if it does not exist yet (mode 0600 for secrets). */
export async function createJsonFile(file: string, value: unknown, mode: number): Promise<void> {
  await mkdir(dirname(file), { recursive: true })
  const fh = await open(file, 'wx', mode)
  try {
    await fh.writeFile(`${JSON.stringify(value, null, 2)}\n`)
    await fh.sync()
  } finally {
    await fh.close()
  }
}

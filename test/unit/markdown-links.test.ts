/**
 * The repository stands alone: every link in its Markdown points at a file
 * inside it (and at a heading that file has), nothing outside it — no URL,
 * no absolute path, no `../` past the root, no brief beside the checkout.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(import.meta.dirname, '../..')
const SKIP = new Set(['node_modules', 'dist', '.git', 'coverage'])

function markdownFiles(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...markdownFiles(path))
    else if (name.endsWith('.md')) out.push(path)
  }
  return out
}

/** The text outside fenced code blocks. */
function unfenced(text: string): string {
  return text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')
}

/** The text outside fenced code blocks and inline code spans. */
function prose(text: string): string {
  return unfenced(text).replace(/`[^`\n]*`/g, '')
}

/** Every link target: inline links and images, reference definitions, autolinks. */
function linkTargets(text: string): string[] {
  const body = prose(text)
  const targets: string[] = []
  for (const m of body.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g))
    targets.push(m[1]!)
  for (const m of body.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)) targets.push(m[1]!)
  for (const m of body.matchAll(/<([a-z][a-z0-9+.-]*:[^>\s]+)>/gi)) targets.push(m[1]!)
  return targets
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-')
}

function anchorsIn(file: string): Set<string> {
  const seen = new Map<string, number>()
  const anchors = new Set<string>()
  for (const m of unfenced(readFileSync(file, 'utf8')).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = anchorOf(m[1]!)
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    anchors.add(n === 0 ? base : `${base}-${n}`)
  }
  return anchors
}

/** What is wrong with one link from `file`, or null. */
function problem(file: string, target: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return 'points outside the repository (a URL)'
  if (target.startsWith('/')) return 'is an absolute path'
  const [pathPart, anchor] = target.split('#', 2) as [string, string | undefined]
  const path = pathPart === '' ? file : resolve(dirname(file), decodeURIComponent(pathPart))
  const rel = relative(ROOT, path)
  if (rel.startsWith('..')) return 'points outside the repository'
  if (!existsSync(path)) return 'names a file that does not exist'
  if (anchor != null && anchor !== '' && path.endsWith('.md') && !anchorsIn(path).has(anchor))
    return `names a heading (#${anchor}) that ${rel} does not have`
  return null
}

describe('Markdown links', () => {
  const files = markdownFiles(ROOT)

  it('finds the docs to check', () => {
    const names = files.map((f) => relative(ROOT, f))
    expect(names).toContain('README.md')
    expect(names).toContain('docs/DESIGN.md')
  })

  it('every link in every Markdown file points inside the repository, at something there', () => {
    const bad: string[] = []
    let links = 0
    for (const file of files) {
      const text = readFileSync(file, 'utf8')
      for (const target of linkTargets(text)) {
        links++
        const why = problem(file, target)
        if (why != null) bad.push(`${relative(ROOT, file)}: (${target}) ${why}`)
      }
      // the brief beside a checkout is not part of the repository, linked or not
      if (/\.\.\/shared\//.test(text)) bad.push(`${relative(ROOT, file)}: mentions ../shared/`)
    }
    expect(bad).toEqual([])
    expect(links).toBeGreaterThan(50)
  })

  it('the checker itself catches what it must', () => {
    const file = join(ROOT, 'docs/DESIGN.md')
    expect(problem(file, 'https://example.com/x')).toMatch(/URL/)
    expect(problem(file, '../../shared/DESIGN.md')).toMatch(/outside/)
    expect(problem(file, '/etc/passwd')).toMatch(/absolute/)
    expect(problem(file, 'NOPE.md')).toMatch(/does not exist/)
    expect(problem(file, 'DESIGN.md#no-such-heading')).toMatch(/heading/)
    expect(problem(file, 'DESIGN.md#64-liveness-the-bound')).toBeNull()
    expect(problem(file, '../src/core/codec/messages.proto')).toBeNull()
    expect(
      linkTargets('a [x](a.md "t") b ![i](img.png) <https://x.y>\n[r]: ref.md\n`[c](code.md)`'),
    ).toEqual(['a.md', 'img.png', 'ref.md', 'https://x.y'])
    expect(linkTargets('```\n[x](inside-a-fence.md)\n```\n')).toEqual([])
    expect(anchorOf('6.4 Liveness: the bound')).toBe('64-liveness-the-bound')
  })
})

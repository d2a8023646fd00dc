import { type Command, InvalidArgumentError } from 'commander'
import { MAX_EVIDENCE } from '../../core/consensus/evidence.js'
import { PeerIdError, peerIdFromString, shortPeerId } from '../../core/crypto/peer-id.js'
import type {
  BatchVoteJson,
  ElectionVoteJson,
  EvidenceJson,
  ProposalJson,
  SignedMessageJson,
  VoteJson,
} from '../../node/node/evidence-view.js'
import { apiRequest, DEFAULT_API_URL } from '../client.js'
import { intOption } from '../options.js'
import { print, printJson, table } from '../output.js'

function limitOption(value: string): number {
  const n = intOption(value)
  if (n < 1 || n > MAX_EVIDENCE) throw new InvalidArgumentError(`must be 1..${MAX_EVIDENCE}`)
  return n
}

function peerIdOption(value: string): string {
  try {
    peerIdFromString(value)
  } catch (err) {
    if (err instanceof PeerIdError) throw new InvalidArgumentError(err.message)
    throw err
  }
  return value
}

export function evidenceCommand(program: Command): void {
  program
    .command('evidence')
    .description(
      'equivocation evidence the node holds: who signed two different things for one (height, round, phase), with both signatures',
    )
    .option('--api <url>', 'node API', DEFAULT_API_URL)
    .option('--json', 'print one JSON document (the GET /evidence answer)')
    .option('--offender <peerId>', "only this validator's evidence", peerIdOption)
    .option(`--limit <n>`, `at most n records, newest first (1..${MAX_EVIDENCE})`, limitOption)
    .addHelpText(
      'after',
      `
Evidence is proof that a validator equivocated: it signed two different
answers to one question, which an honest validator never does. Kinds:
  election-vote  votes for two candidates in one (height, round)
  block-vote     two block votes (permit/commit) in one (phase, height, round)
  tx-vote        two different batch votes on one tx batch (phase, batch)
  proposal       a leader's two proposals in one (height, round)
The first answer is the one the node counted; the pair is kept as proof,
once per question, newest first. The node keeps the latest ${MAX_EVIDENCE}
records, on disk, so they survive a restart.

Each record holds both signed messages in full (--json): hashes and
signatures in hex, peer ids as text, enum values by their protobuf names.
Anyone with the validator set can re-encode each message (messages.proto,
signature field empty) and check the offender's signature over it, which
is domain-separated by the chain id (GET /status).

Examples:
  bftchain evidence
  bftchain evidence --offender 12D3KooW… --json
  bftchain evidence --api http://127.0.0.1:8081 --limit 10`,
    )
    .action(async (opts: { api: string; json?: boolean; offender?: string; limit?: number }) => {
      const query = new URLSearchParams()
      if (opts.limit != null) query.set('limit', String(opts.limit))
      if (opts.offender != null) query.set('offender', opts.offender)
      const qs = query.size > 0 ? `?${query}` : ''
      const records = await apiRequest<EvidenceJson[]>(opts.api, `evidence${qs}`)
      if (opts.json) {
        printJson(records)
        return
      }
      if (records.length === 0) {
        print(opts.offender ? `no evidence against ${opts.offender}` : 'no evidence')
        return
      }
      print(
        table([
          ['kind', 'offender', 'height/round', 'seen', 'answers'],
          ...records.map((e) => [
            e.kind,
            shortPeerId(e.offender),
            `${e.height}/${e.round}`,
            e.seenAt,
            answers(e),
          ]),
        ]),
      )
    })
}

const shortHash = (hex: string): string => (hex.length > 8 ? `${hex.slice(0, 8)}…` : hex)

/** What the offender said, then what it said instead. */
function answers(e: EvidenceJson): string {
  switch (e.kind) {
    case 'election-vote': {
      const [a, b] = [e.first as ElectionVoteJson, e.second as ElectionVoteJson]
      return `voted for ${shortPeerId(a.candidate)}, then for ${shortPeerId(b.candidate)}`
    }
    case 'proposal': {
      const [a, b] = [e.first as ProposalJson, e.second as ProposalJson]
      return `proposed block ${shortHash(a.blockHash)}, then ${shortHash(b.blockHash)}`
    }
    case 'tx-vote': {
      const [a, b] = [e.first as BatchVoteJson, e.second as BatchVoteJson]
      return `${a.phase} on batch ${shortHash(a.batch)} (${a.count} txs): ${batchAnswer(a)}, then ${batchAnswer(b)}`
    }
    default: {
      const [a, b] = [e.first as VoteJson, e.second as VoteJson]
      return `${a.phase}: ${voteAnswer(e, a)}, then ${voteAnswer(e, b)}`
    }
  }
}

/** A batch vote's answer: all permitted, or which txs it rejected and why. */
function batchAnswer(v: BatchVoteJson): string {
  if (v.rejected.length === 0) return 'permitted every tx'
  const which = v.rejected.map((i, k) => `#${i} (${v.reasons[k]})`).join(', ')
  return `rejected ${which}`
}

function voteAnswer(e: EvidenceJson, v: SignedMessageJson): string {
  const vote = v as VoteJson
  const result = vote.result.toLowerCase()
  const reason = vote.reason !== 'NONE' ? ` (${vote.reason})` : ''
  // a block vote names its block (nil: none)
  const subject =
    e.kind === 'block-vote' ? ` ${vote.subject === '' ? 'nil' : shortHash(vote.subject)}` : ''
  return `${result}${subject}${reason}`
}

/**
 * The six gossip topics, typed inside the node and stringified only at the
 * edge (Lodestar network/gossip/topic.ts): `/bftchain/<chainId>/<name>`.
 */
export const TOPIC_NAMES = [
  'tx',
  'prepare',
  'commit',
  'block-sync',
  'accounts',
  'election',
] as const

export type TopicName = (typeof TOPIC_NAMES)[number]

export interface GossipTopic {
  chainId: string
  name: TopicName
}

export function stringifyTopic(topic: GossipTopic): string {
  return `/bftchain/${topic.chainId}/${topic.name}`
}

const TOPIC = /^\/bftchain\/([^/]+)\/([^/]+)$/

/** The typed topic, or null for a string that is not one of ours. */
export function parseTopic(text: string): GossipTopic | null {
  const m = TOPIC.exec(text)
  if (m == null) return null
  const name = m[2] as TopicName
  if (!TOPIC_NAMES.includes(name)) return null
  return { chainId: m[1]!, name }
}

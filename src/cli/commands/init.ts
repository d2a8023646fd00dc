import { stat } from 'node:fs/promises'
import type { Command } from 'commander'
import { createNodeKey, nodeKeyPath, readNodeKey } from '../../node/keys/node-key.js'
import { print, printJson } from '../output.js'

export function initCommand(program: Command): void {
  program
    .command('init')
    .description('make a node key (HOME/node-key.json, mode 0600) and print its peer id')
    .requiredOption('--home <dir>', 'the node home directory')
    .option('--json', 'print one JSON document')
    .addHelpText(
      'after',
      '\nAn existing key is never overwritten: init prints its peer id instead.',
    )
    .action(async (opts: { home: string; json?: boolean }) => {
      const file = nodeKeyPath(opts.home)
      const exists = await stat(file).then(
        () => true,
        () => false,
      )
      const id = exists ? await readNodeKey(file) : await createNodeKey(file)
      if (opts.json) printJson({ peerId: id.peerId, keyFile: file, created: !exists })
      else
        print(
          exists ? `${file} exists; peer id ${id.peerId}` : `made ${file}\npeer id ${id.peerId}`,
        )
    })
}

import { stat, unlink } from 'node:fs/promises'
import { type Command, Option } from 'commander'
import { MAX_ACCOUNT_DATA_CHARS, USERNAME } from '../../core/chain/account.js'
import { accountToJson } from '../../core/chain/json.js'
import { signAccount } from '../../core/chain/signatures.js'
import {
  fromHex,
  type KeyType,
  RSA_MAX_BITS,
  RSA_MIN_BITS,
  SignKind,
  sign,
} from '../../core/crypto/index.js'
import { accountKeyFile, generateAccountKey, writeAccountKey } from '../../node/keys/account-key.js'
import { ApiError, apiCall, DEFAULT_API_URL } from '../client.js'
import { intOption } from '../options.js'
import { CliError, print, printJson, table } from '../output.js'
import { type AccountView, fetchAccount, fetchChainId, loadKey, parseHex64 } from '../signing.js'

interface NewOpts {
  name: string
  data: string
  keyType: KeyType
  rsaBits: number
  out: string
  api: string
  json?: boolean
}

export function accountCommand(program: Command): void {
  const account = program
    .command('account')
    .description('register an account with a key made here, show one, log in with a key file')

  account
    .command('new')
    .description('make a key locally, write the key file (mode 0600), register the account')
    .requiredOption('--name <username>', 'username: 3-32 of a-z 0-9 _ . -')
    .option('--data <text>', "the account's data", '')
    .addOption(
      new Option('--key-type <type>', 'account key type')
        .choices(['ed25519', 'rsa'])
        .default('ed25519'),
    )
    .option(
      '--rsa-bits <n>',
      `RSA modulus size (${RSA_MIN_BITS}..${RSA_MAX_BITS})`,
      intOption,
      2048,
    )
    .requiredOption('--out <file>', 'the key file to write (must not exist)')
    .option('--api <url>', 'node API', DEFAULT_API_URL)
    .option('--json', 'print one JSON document')
    .addHelpText(
      'after',
      `
The private key is made here and never sent: the node gets the public key and
a registration signed with it. The key file is written before the account is
registered, so a registered account never loses its key; if the node refuses
the registration (a taken username, say) the file is removed again.

The account is pending until the next block includes it; it can send txs
once every validator has it (bftchain account show ADDRESS).

Examples:
  bftchain account new --name alice --out alice.key.json
  bftchain account new --name bob --data "Bob's shop" --key-type rsa --out bob.key.json \\
    --api http://127.0.0.1:8081`,
    )
    .action(async (opts: NewOpts) => {
      if (!USERNAME.test(opts.name)) {
        throw new CliError(
          `--name "${opts.name}": 3-32 of a-z 0-9 _ . -, starting with a letter or digit`,
        )
      }
      if (opts.data.length > MAX_ACCOUNT_DATA_CHARS) {
        throw new CliError(`--data: at most ${MAX_ACCOUNT_DATA_CHARS} characters`)
      }
      if (opts.keyType === 'rsa' && (opts.rsaBits < RSA_MIN_BITS || opts.rsaBits > RSA_MAX_BITS)) {
        throw new CliError(`--rsa-bits must be ${RSA_MIN_BITS} to ${RSA_MAX_BITS}`)
      }
      // refuse before anything is made or registered
      const exists = await stat(opts.out).then(
        () => true,
        () => false,
      )
      if (exists) throw new CliError(`${opts.out} already exists; not overwriting a key file`)
      const chainId = await fetchChainId(opts.api)

      const signer = generateAccountKey(opts.keyType, opts.rsaBits)
      const file = accountKeyFile(signer, opts.name)
      const registration = accountToJson(
        signAccount(signer, { chainId, username: opts.name, data: opts.data }),
      )
      await writeAccountKey(opts.out, file)

      let answer: { address?: string; username?: string; status?: string }
      try {
        answer = (
          await apiCall<typeof answer>(opts.api, 'accounts', {
            method: 'POST',
            body: registration,
          })
        ).body
      } catch (err) {
        if (err instanceof ApiError && err.status >= 400 && err.status < 500) {
          // refused: nothing is registered with this key, so it is worth nothing
          await unlink(opts.out).catch(() => {})
          throw new CliError(`${err.message} (nothing registered; ${opts.out} removed)`)
        }
        throw new CliError(
          `${(err as Error).message}; the registration may have reached the node: the key is kept in ${opts.out} (check with: bftchain account show ${file.address})`,
        )
      }
      if (answer?.address !== undefined && answer.address !== file.address) {
        throw new CliError(
          `the node registered address ${answer.address}, but the key in ${opts.out} is ${file.address}`,
        )
      }
      const status = answer?.status ?? 'pending'
      if (opts.json) {
        printJson({
          address: file.address,
          username: opts.name,
          keyType: file.keyType,
          status,
          keyFile: opts.out,
        })
        return
      }
      print(
        `registered ${opts.name}: address ${file.address} (${status === 'pending' ? 'pending until the next block' : status}); key in ${opts.out}`,
      )
    })

  account
    .command('show')
    .description('an account: username, data, key, status, nonce')
    .argument('<address>', 'the account address (64 hex characters)')
    .option('--api <url>', 'node API', DEFAULT_API_URL)
    .option('--json', 'print one JSON document')
    .addHelpText(
      'after',
      `
Examples:
  bftchain account show "$(jq -r .address alice.key.json)"
  bftchain account show ADDRESS --api http://127.0.0.1:8082 --json`,
    )
    .action(async (address: string, opts: { api: string; json?: boolean }) => {
      const a = await fetchAccount(opts.api, parseHex64(address, 'ADDRESS'))
      if (opts.json) printJson(a)
      else printAccount(a)
    })

  account
    .command('login')
    .description("prove that a key file holds an account's key: sign the node's challenge")
    .requiredOption('--key <file>', 'the account key file')
    .option('--address <address>', "log in as this account (default: the key file's)")
    .option('--api <url>', 'node API', DEFAULT_API_URL)
    .option('--json', 'print one JSON document: the account')
    .addHelpText(
      'after',
      `
The node sends a fresh nonce; the CLI signs it with the key (the private key
stays here) and the node answers with the account if the signature matches
the account's public key.

Examples:
  bftchain account login --key alice.key.json
  bftchain account login --key alice.key.json --api http://127.0.0.1:8082 --json`,
    )
    .action(async (opts: { key: string; address?: string; api: string; json?: boolean }) => {
      const key = await loadKey(opts.key)
      const address =
        opts.address === undefined ? key.address : parseHex64(opts.address, '--address')
      const chainId = await fetchChainId(opts.api)
      const { body: challenge } = await apiCall<{ nonce?: unknown; expiresAt?: string }>(
        opts.api,
        'accounts/challenge',
        { method: 'POST', body: { address } },
      )
      let nonce: Uint8Array
      try {
        nonce = fromHex(String(challenge?.nonce))
      } catch {
        throw new CliError(`the node's challenge nonce is not hex: ${String(challenge?.nonce)}`)
      }
      const signature = Buffer.from(sign(key.signer, chainId, SignKind.Login, nonce)).toString(
        'base64',
      )
      let a: AccountView
      try {
        a = (
          await apiCall<AccountView>(opts.api, 'accounts/login', {
            method: 'POST',
            body: { address, nonce: String(challenge.nonce), signature },
          })
        ).body
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) {
          throw new CliError(
            `login refused (${err.code ?? 'UNAUTHORIZED'}): the key in ${opts.key} does not sign for ${address}`,
          )
        }
        throw err
      }
      if (opts.json) printJson(a)
      else print(`logged in as ${a.username} (${a.address})`)
    })
}

function printAccount(a: AccountView): void {
  print(
    table([
      ['username', a.username],
      ['address', a.address],
      ['status', a.status],
      ['registered', a.registeredAt == null ? '-' : `block ${a.registeredAt}`],
      ['key', `${a.keyType} ${short(a.publicKey)}`],
      ['nonce', `${a.nonce} (next tx: ${a.pendingNonce})`],
      ['data', a.data === '' ? '-' : JSON.stringify(a.data)],
    ]),
  )
}

/** An RSA public key is 400 base64 characters: enough of it to recognise. */
function short(base64: string): string {
  return base64.length > 48 ? `${base64.slice(0, 44)}…` : base64
}

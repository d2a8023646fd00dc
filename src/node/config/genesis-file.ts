import { type Genesis, GenesisError, parseGenesis } from '../../core/chain/genesis.js'
import { FileError, readJsonFile } from '../files.js'

/** Read and validate genesis.json; FileError naming the file and the field. */
export async function loadGenesis(file: string): Promise<Genesis> {
  const json = await readJsonFile(file)
  try {
    return parseGenesis(json)
  } catch (err) {
    if (err instanceof GenesisError) throw new FileError(file, err.message)
    throw err
  }
}

// `reflow pairs` as a sharded job: a shard is one shard of the pair directory; the merge writes the
// directory generatePairs writes for the same settings, byte for byte.

import type { CompiledNetwork } from '../../pipeline/sampling-network.js';
import { type PairManifest, type PairSettings, type PreparedPairs, makePairShard, pairNetwork, preparePairs, writePairs } from '../../reflow/pairs.js';
import type { ShardJob } from '../job.js';

export interface PairJobSettings extends PairSettings {
  out: string; // the pair directory the merge writes
}

interface PairContext {
  prepared: PreparedPairs;
  network: CompiledNetwork;
}

export const pairsJob: ShardJob<PairJobSettings, PairContext, PairManifest> = {
  name: 'pairs',
  unit: 'pair',

  async prepare(settings) {
    const prepared = await preparePairs(settings);
    // Where the teacher was found does not change a pair; its weights do (teacherDigest).
    const { teacher: _location, ...identity } = prepared.generation;
    return { identity: { job: 'pairs', ...identity }, total: settings.count, shardSize: settings.shardSize, context: { prepared, network: pairNetwork(prepared) } };
  },

  async runShard({ prepared, network }, range, onItems) {
    const tensors = await makePairShard(prepared, network, range);
    onItems(range.count);
    return { tensors, extra: {} };
  },

  async merge({ prepared }, settings, shards) {
    return writePairs(prepared, settings.out, shards.map((s) => s.tensors));
  },

  async dispose({ network }) {
    await network.dispose();
  },
};

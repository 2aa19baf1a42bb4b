/**
 * runClusterTest: how a test runs on the test cluster.
 *
 *   await runClusterTest({ stores: 5 }, async (cluster) => {
 *     await cluster.mustPut(bytes('k1'), bytes('v1'));
 *     cluster.partition([1, 2, 3], [4, 5]);
 *     await cluster.mustGet(bytes('k1'), bytes('v1'));
 *   }, { maxVirtualMs: 60_000 });
 */
import { runSimTest, type Sim, type SimTestOptions, type SimTestResult } from '../sim/index.ts';
import { Cluster, type ClusterOptions } from './cluster.ts';
import { describeClusterState } from './store-inspection.ts';

/**
 * runSimTest with a started cluster: builds the cluster in the simulation, runs `body` as the main client,
 * shuts the cluster down, and on any failure still closes the engines and deletes the temporary files. A
 * failure block shows every store's raft state at the failure (describeClusterState).
 */
export async function runClusterTest<T>(
  options: ClusterOptions,
  body: (cluster: Cluster, sim: Sim) => Promise<T>,
  testOptions: SimTestOptions,
): Promise<SimTestResult<T>> {
  let cluster: Cluster | undefined;
  try {
    return await runSimTest(async (sim) => {
      cluster = new Cluster(sim, options);
      await cluster.start();
      const value = await body(cluster, sim);
      await cluster.shutdown();
      return value;
    }, { ...testOptions, describeState: () => (cluster === undefined ? '' : describeClusterState(cluster)) });
  } finally {
    await cluster?.shutdown().catch(() => undefined);
  }
}

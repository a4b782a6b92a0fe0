import { startRedisCluster } from "../testing.ts";
import { registerContractsOver } from "./contracts.ts";
import { CLUSTER_CLIENTS } from "./helpers_clients.ts";

for (const kind of CLUSTER_CLIENTS) {
  registerContractsOver(kind, () => startRedisCluster({ masters: 3 }));
}

import { startRedisCluster } from "../../testing.ts";
import { registerContractsOver } from "./contracts.ts";
import { CLUSTER_CLIENTS, NODE_REDIS_5_CLUSTER } from "../helpers/clients.ts";

for (const kind of [...CLUSTER_CLIENTS, NODE_REDIS_5_CLUSTER]) {
  registerContractsOver(kind, () => startRedisCluster({ masters: 3 }));
}

/**
 * The rules of `ARCHITECTURE.md` that a machine can check, read from the
 * module graph `deno info` reports for every entry point: each layer imports
 * only the layers below it, and a `_` file is private to its folder.
 *
 * @module
 */
import assert from "node:assert/strict";

const ROOT = new URL("../..", import.meta.url).href;
const SRC = new URL("../../src/", import.meta.url).href;

/** Each floor of `ARCHITECTURE.md`'s table, by the folder (or file) under `src/`. */
const FLOORS: Readonly<Record<string, number>> = {
  subject: 4,
  storage: 3,
  "config.ts": 3,
  testing: 3,
  client: 2,
  json: 1,
  async: 1,
  telemetry: 1,
};

/** The module graph `deno info --json` reports for one entry point. */
interface ModuleGraph {
  roots: string[];
  modules: {
    specifier: string;
    dependencies?: {
      code?: { specifier?: string };
      type?: { specifier?: string };
      isDynamic?: boolean;
    }[];
  }[];
}

async function moduleGraph(entry: string): Promise<ModuleGraph> {
  const output = await new Deno.Command("deno", {
    args: ["info", "--json", entry],
    cwd: new URL(ROOT),
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.ok(output.success, `deno info --json ${entry} failed`);
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

/** Every import between files of `src/`, as `[importer, imported]` URLs. */
async function srcImports(): Promise<[string, string][]> {
  const edges = new Map<string, [string, string]>();
  for (const entry of ["mod.ts", "client.ts", "storage.ts", "testing.ts"]) {
    const graph = await moduleGraph(entry);
    for (const module of graph.modules) {
      if (!module.specifier.startsWith(SRC)) continue;
      for (const dependency of module.dependencies ?? []) {
        for (const to of [dependency.code, dependency.type]) {
          const target = to?.specifier;
          if (target === undefined || !target.startsWith(SRC)) continue;
          edges.set(`${module.specifier} ${target}`, [
            module.specifier,
            target,
          ]);
        }
      }
    }
  }
  assert.ok(edges.size > 100, `only ${edges.size} imports found`);
  return [...edges.values()];
}

const shown = (url: string) => url.slice(ROOT.length);

Deno.test("architecture: each layer imports only the layers below it, never upwards", async () => {
  const upward: string[] = [];
  for (const [from, to] of await srcImports()) {
    const [fromTop, toTop] = [from, to].map((url) =>
      url.slice(SRC.length).split("/")[0]
    );
    assert.ok(fromTop in FLOORS, `${shown(from)} is on no floor`);
    assert.ok(toTop in FLOORS, `${shown(to)} is on no floor`);
    if (fromTop !== toTop && FLOORS[toTop] >= FLOORS[fromTop]) {
      upward.push(`${shown(from)} → ${shown(to)}`);
    }
  }
  assert.deepEqual(upward, []);
});

Deno.test("architecture: a _ file is imported only from its own folder and the folders inside it", async () => {
  const trespass: string[] = [];
  for (const [from, to] of await srcImports()) {
    const name = to.slice(to.lastIndexOf("/") + 1);
    const folder = to.slice(0, to.lastIndexOf("/") + 1);
    if (name.startsWith("_") && !from.startsWith(folder)) {
      trespass.push(`${shown(from)} → ${shown(to)}`);
    }
  }
  assert.deepEqual(trespass, []);
});

Deno.test("architecture: importing the root export loads no cluster, Sentinel or adapter module; they load when first needed", async () => {
  const graph = await moduleGraph("mod.ts");
  const byUrl = new Map(graph.modules.map((m) => [m.specifier, m]));
  // What runs at import: static imports of code, not `import type`.
  const loaded = new Set<string>();
  const visit = (url: string) => {
    if (loaded.has(url)) return;
    loaded.add(url);
    for (const dependency of byUrl.get(url)?.dependencies ?? []) {
      const target = dependency.code?.specifier;
      if (target !== undefined && !dependency.isDynamic) visit(target);
    }
  };
  visit(graph.roots[0]);
  const ha = [...byUrl.keys()].filter((url) =>
    /\/src\/client\/(cluster|sentinel|_slot_map|_sentinel_\w+)\.ts$/.test(url)
  );
  assert.equal(ha.length, 6, `cluster and Sentinel modules: ${ha.map(shown)}`);
  assert.deepEqual(ha.filter((url) => loaded.has(url)).map(shown), []);
  // createRedisStorage recognises another client by its shape alone
  // (_shapes.ts), and loads that client's adapter then.
  const adapters = [...byUrl.keys()].filter((url) =>
    /\/src\/client\/adapters\/(?!mod|_shapes)\w+\.ts$/.test(url)
  );
  assert.equal(adapters.length, 6, `adapter modules: ${adapters.map(shown)}`);
  assert.deepEqual(adapters.filter((url) => loaded.has(url)).map(shown), []);
});

import assert from "node:assert/strict";
import { TurnPacer } from "../../src/subject/_cache_keeper.ts";
import { nextTurn } from "../helpers/turns.ts";

Deno.test("TurnPacer: lets perTurn callers through in a turn and the rest a group a turn later, in order", async () => {
  const pacer = new TurnPacer(4);
  // A turn counter that moves on with the event loop, started first so that
  // it counts each turn before the pacer's groups go in it.
  let turn = 0;
  const ticking = (async () => {
    for (let t = 1; t <= 4; t++) {
      await nextTurn();
      turn = t;
    }
  })();
  const wentAt: [number, number][] = [];
  for (let i = 0; i < 11; i++) {
    const wait = pacer.pass();
    if (wait === undefined) wentAt.push([i, turn]);
    else wait.then(() => wentAt.push([i, turn]));
  }
  await ticking;
  assert.deepEqual(wentAt.map(([i]) => i), [...Array(11).keys()]);
  const perTurn = new Map<number, number>();
  for (const [, t] of wentAt) perTurn.set(t, (perTurn.get(t) ?? 0) + 1);
  assert.deepEqual([...perTurn.values()], [4, 4, 3]);
});

Deno.test("TurnPacer: a caller after a quiet turn goes through at once, and a group let through counts against its turn", async () => {
  const pacer = new TurnPacer(2);
  assert.equal(pacer.pass(), undefined);
  assert.equal(pacer.pass(), undefined);
  const third = pacer.pass();
  assert.ok(third !== undefined);
  let thirdWent = false;
  third.then(() => thirdWent = true);
  await third;
  // The turn that let the third through has one place left.
  assert.equal(pacer.pass(), undefined);
  assert.ok(pacer.pass() !== undefined);
  assert.ok(thirdWent);
  await nextTurn();
  await nextTurn();
  assert.equal(pacer.pass(), undefined);
});

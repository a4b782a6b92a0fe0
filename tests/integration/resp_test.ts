import assert from "node:assert/strict";
import {
  encodeCommand,
  ErrorReply,
  type ParsedReply,
  ProtocolError,
  ReplyParser,
  utf8Length,
} from "../../src/client/resp.ts";
import { startRedisServer } from "../../testing.ts";

const encoder = new TextEncoder();

function parseAll(chunks: Uint8Array[]): ParsedReply[] {
  const parser = new ReplyParser();
  const out: ParsedReply[] = [];
  for (const chunk of chunks) parser.feed(chunk, (r) => out.push(r));
  return out;
}

function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

Deno.test("parser decodes every RESP2 reply type", () => {
  const cases: [string, ParsedReply][] = [
    ["+OK\r\n", "OK"],
    ["+\r\n", ""],
    ["-ERR unknown command\r\n", new ErrorReply("ERR unknown command")],
    [":0\r\n", 0],
    [":-42\r\n", -42],
    [":9007199254740991\r\n", 9007199254740991],
    ["$5\r\nhello\r\n", "hello"],
    ["$0\r\n\r\n", ""],
    ["$-1\r\n", null],
    ["$4\r\na\r\nb\r\n", "a\r\nb"],
    ["*0\r\n", []],
    ["*-1\r\n", null],
    ["*3\r\n:1\r\n$1\r\nx\r\n$-1\r\n", [1, "x", null]],
    ["*2\r\n*2\r\n:1\r\n*0\r\n*1\r\n+deep\r\n", [[1, []], ["deep"]]],
    // Lengths count bytes, not characters: é is 2 bytes, 😀 is 4.
    ["$2\r\né\r\n", "é"],
    ["$4\r\n😀\r\n", "😀"],
    [
      "$9\r\nnaïve 😀\r\n".replace("$9", `$${utf8Length("naïve 😀")}`),
      "naïve 😀",
    ],
    ["+café\r\n", "café"],
  ];
  for (const [wire, expected] of cases) {
    assert.deepEqual(parseAll([bytes(wire)]), [expected], JSON.stringify(wire));
  }
});

Deno.test("parser turns an error nested in an array into the reply's error", () => {
  assert.deepEqual(
    parseAll([bytes("*2\r\n+OK\r\n-WRONGTYPE nope\r\n:7\r\n")]),
    [new ErrorReply("WRONGTYPE nope"), 7],
  );
});

Deno.test("parser rejects a stream that is not RESP2", () => {
  for (const wire of ["!oops\r\n", ":12a\r\n", "$-5\r\n", "$3\r\nabcXY"]) {
    assert.throws(() => parseAll([bytes(wire)]), ProtocolError, wire);
  }
});

Deno.test("encoder writes byte lengths for multi-byte text and raw bytes", () => {
  const wire = new TextDecoder().decode(
    encodeCommand(["SET", "clé", 1.5, new Uint8Array([104, 105])]),
  );
  assert.equal(
    wire,
    "*4\r\n$3\r\nSET\r\n$4\r\nclé\r\n$3\r\n1.5\r\n$2\r\nhi\r\n",
  );
  assert.throws(() => encodeCommand(["SET", "k", NaN]), TypeError);
  assert.throws(
    () => encodeCommand(["SET", "k", {} as unknown as string]),
    TypeError,
  );
  for (
    const s of ["", "ascii", "é", "€", "😀", "a\ud800b", "\udc00", "mixed é€😀"]
  ) {
    assert.equal(utf8Length(s), encoder.encode(s).byteLength, s);
  }
});

/** Sends `commands` over a raw socket and returns the exact bytes the server answered. */
async function record(url: string, commands: string[][]): Promise<Uint8Array> {
  const port = Number(new URL(url).port);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const request = commands.map((c) => encodeCommand(c));
    for (const chunk of request) await conn.write(chunk);
    const received: Uint8Array[] = [];
    const parser = new ReplyParser();
    let replies = 0;
    const buf = new Uint8Array(4096);
    while (replies < commands.length) {
      const n = await conn.read(buf);
      if (n === null) throw new Error("server closed the connection early");
      received.push(buf.slice(0, n));
      parser.feed(buf.subarray(0, n), () => replies++);
    }
    const total = received.reduce((sum, c) => sum + c.byteLength, 0);
    const all = new Uint8Array(total);
    let at = 0;
    for (const c of received) {
      all.set(c, at);
      at += c.byteLength;
    }
    return all;
  } finally {
    conn.close();
  }
}

Deno.test("a recorded stream of replies parses the same when split at every byte offset", async () => {
  await using server = await startRedisServer();
  const big = "x".repeat(5000) + "é😀";
  const stream = await record(server.url, [
    ["PING"],
    ["SET", "s", "héllo wörld 😀"],
    ["GET", "s"],
    ["GET", "missing"],
    ["HSET", "h", "pname", '"Ada"', "page", "36", "pempty", ""],
    ["HGETALL", "h"],
    ["HGET", "s", "x"],
    ["INCRBY", "n", "-5"],
    ["RPUSH", "l", "a", "", "b"],
    ["LRANGE", "l", "0", "-1"],
    ["LRANGE", "nothing", "0", "-1"],
    ["SET", "big", big],
    ["GET", "big"],
    ["EVAL", "return {1, {2, {'three'}}, redis.call('GET', 's')}", "0"],
    ["EVAL", "return nil", "0"],
    ["SCAN", "0", "COUNT", "100"],
  ]);
  const whole = parseAll([stream]);
  assert.equal(whole.length, 16);
  assert.equal(whole[2], "héllo wörld 😀");
  assert.equal(whole[3], null);
  assert.deepEqual(whole[5], ["pname", '"Ada"', "page", "36", "pempty", ""]);
  assert.ok(
    whole[6] instanceof ErrorReply && whole[6].message.startsWith("WRONGTYPE"),
  );
  assert.equal(whole[7], -5);
  assert.deepEqual(whole[9], ["a", "", "b"]);
  assert.deepEqual(whole[10], []);
  assert.equal(whole[12], big);
  assert.deepEqual(whole[13], [1, [2, ["three"]], "héllo wörld 😀"]);
  assert.equal(whole[14], null);
  for (let cut = 1; cut < stream.byteLength; cut++) {
    const split = parseAll([stream.slice(0, cut), stream.slice(cut)]);
    assert.deepEqual(split, whole, `split at byte ${cut}`);
  }
  // And byte by byte: the parser's state survives thousands of tiny chunks.
  const single = [];
  for (let i = 0; i < stream.byteLength; i++) {
    single.push(stream.slice(i, i + 1));
  }
  assert.deepEqual(parseAll(single), whole);
});

Deno.test("parser does not keep a reference to a chunk the caller reuses", () => {
  const parser = new ReplyParser();
  const out: ParsedReply[] = [];
  const buf = new Uint8Array(8);
  for (const piece of ["$6\r\nab", "cdef\r\n+O", "K\r\n"]) {
    const b = bytes(piece);
    buf.set(b);
    parser.feed(buf.subarray(0, b.byteLength), (r) => out.push(r));
    buf.fill(0x21);
  }
  assert.deepEqual(out, ["abcdef", "OK"]);
});

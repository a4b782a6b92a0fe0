/**
 * A fake Sentinel, for what real Sentinels cannot be made to do on cue:
 * disagree about the master with different configuration epochs, or stay in
 * the middle of a failover for as long as a test needs. It answers
 * `SENTINEL MASTER`, `SENTINEL GET-MASTER-ADDR-BY-NAME` and `SUBSCRIBE`
 * from a view the test changes, and publishes the events the test sends.
 * The data nodes behind it are real `redis-server`s.
 *
 * @module
 */
import { encodeCommand, ReplyParser } from "../../src/client/resp.ts";
import { startTcpFake, type TcpFake } from "./tcp_fakes.ts";

/** What the fake Sentinel says of the master. */
export interface FakeSentinelView {
  /** The port `SENTINEL MASTER` names (the master in its configuration). */
  masterPort: number;
  /** The port `GET-MASTER-ADDR-BY-NAME` names (the promoted replica's once promoted). */
  addressPort: number;
  /** `config-epoch`. */
  epoch: number;
  /** `flags`, e.g. `master` or `master,failover_in_progress`. */
  flags: string;
}

/** A running fake Sentinel. */
export interface FakeSentinel extends TcpFake {
  /** What it answers; change it at will. */
  view: FakeSentinelView;
  /** Publishes `payload` on `channel` to every subscriber. */
  publish(channel: string, payload: string): void;
  /** Resolves once a subscriber has subscribed. */
  subscribed(): Promise<void>;
}

const encoder = new TextEncoder();

/**
 * Starts a fake Sentinel for master `masterName`.
 *
 * @param masterName The name it monitors.
 * @param view What it says at first.
 */
export function startFakeSentinel(
  masterName: string,
  view: FakeSentinelView,
): FakeSentinel {
  const subscribers = new Set<Deno.Conn>();
  let onSubscribe: (() => void) | undefined;
  const isSubscribed = new Promise<void>((resolve) => onSubscribe = resolve);
  const fake = startTcpFake(async (conn) => {
    const parser = new ReplyParser();
    const buf = new Uint8Array(16 * 1024);
    while (true) {
      const n = await conn.read(buf);
      if (n === null) return;
      const out: string[][] = [];
      const raw: Uint8Array[] = [];
      parser.feed(buf.subarray(0, n), (command) => {
        const words = Array.isArray(command) ? command.map(String) : [];
        const name = `${words[0]} ${words[1] ?? ""}`.toUpperCase();
        const v = fakeSentinel.view;
        if (name.startsWith("SUBSCRIBE")) {
          subscribers.add(conn);
          for (const [i, channel] of words.slice(1).entries()) {
            raw.push(encodeCommand(["subscribe", channel, String(i + 1)]));
          }
          onSubscribe?.();
        } else if (words[1]?.toUpperCase() === "MASTER") {
          out.push([
            "name",
            masterName,
            "ip",
            "127.0.0.1",
            "port",
            String(v.masterPort),
            "flags",
            v.flags,
            "config-epoch",
            String(v.epoch),
            "failover-timeout",
            "60000",
          ]);
        } else if (words[1]?.toUpperCase() === "GET-MASTER-ADDR-BY-NAME") {
          out.push(["127.0.0.1", String(v.addressPort)]);
        } else if (words[0]?.toUpperCase() === "PING") {
          raw.push(encoder.encode("+PONG\r\n"));
        } else {
          raw.push(encoder.encode("+OK\r\n"));
        }
        for (const reply of out.splice(0)) raw.push(encodeCommand(reply));
      });
      for (const bytes of raw) await conn.write(bytes);
    }
  });
  const fakeSentinel: FakeSentinel = Object.assign(fake, {
    view,
    publish(channel: string, payload: string) {
      const bytes = encodeCommand(["message", channel, payload]);
      for (const conn of subscribers) conn.write(bytes).catch(() => {});
    },
    subscribed: () => isSubscribed,
  });
  return fakeSentinel;
}

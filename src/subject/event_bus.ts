import type { Subject } from "./subject.ts";

/**
 * The payload of each event type a `Subject` emits. Keys are KRules' wire
 * names (`PayloadConst`); an absent old value is `null`.
 */
export interface SubjectEventPayloads {
  /** A default property got a different value. */
  "subject-property-changed": {
    property_name: string;
    old_value: unknown;
    value: unknown;
  };
  /**
   * A default property was deleted (by `flush()`, an extended one too). A
   * field that did not hold valid JSON has `old_value: null` and
   * `corrupt: true`.
   */
  "subject-property-deleted": {
    property_name: string;
    old_value: unknown;
    corrupt?: true;
  };
  /**
   * The whole subject was flushed, with the values it had. Fields that did
   * not hold valid JSON are left out of `props` and `ext_props` and named
   * in `corrupt`, present only then.
   */
  "subject-deleted": {
    props: Record<string, unknown>;
    ext_props: Record<string, unknown>;
    corrupt?: { props: string[]; ext_props: string[] };
  };
}

/** The type of an event a `Subject` emits, e.g. `"subject-property-changed"`. */
export type SubjectEventName = keyof SubjectEventPayloads;

/**
 * An event type pattern: `*` matches any run of characters and `?` any one,
 * e.g. `"*"` or `"subject-property-*"`.
 */
export type EventPattern = `${string}*${string}` | `${string}?${string}`;

/**
 * One event as handlers receive it.
 *
 * @typeParam Payload The payload's type; known for the events of `Subject`.
 */
export interface SubjectEvent<Payload = Record<string, unknown>> {
  /** The event type, e.g. `"subject-property-changed"`. */
  type: string;
  /** The subject the event is about. */
  subject: Subject;
  /** The event data; see {@linkcode SubjectEventPayloads} for subject events. */
  payload: Payload;
  /** The `extra` passed to the `set()`/`delete()` that caused the event, if any. */
  extra?: Record<string, unknown>;
}

/**
 * A function that reacts to events. It may be async; `emit` waits for it.
 *
 * @typeParam Payload The payload's type.
 * @param event The event.
 */
export type EventHandler<Payload = Record<string, unknown>> = (
  event: SubjectEvent<Payload>,
) => void | Promise<void>;

/** Options of {@linkcode EventBus}. */
export interface EventBusOptions {
  /**
   * Receives the error of a handler that threw or rejected. The bus goes on
   * with the remaining handlers either way.
   *
   * @default {reporting to console.error}
   */
  onError?: (error: unknown, event: SubjectEvent) => void;
}

/**
 * Whether any handler of `bus` would receive an event of this type. Subjects
 * check it before building an event, so a bus nobody listens to costs
 * nothing. A function rather than a method, so that it is no part of the
 * bus's public surface; set in the bus's static block, which alone may read
 * its handlers.
 */
export let listens: (bus: EventBus, eventType: string) => boolean;

interface Registration {
  readonly matches: (eventType: string) => boolean;
  readonly handler: EventHandler;
}

/**
 * Delivers subject events to handlers, in registration order, awaiting each.
 * As in the Python bus, a handler that throws is reported and the others
 * still run, so one broken handler cannot stop a `set()` or `delete()`.
 *
 * @example
 * ```ts
 * import { createMemoryStorage, EventBus, KRules, PayloadConst } from "@x/redis-subjects";
 *
 * const eventBus = new EventBus();
 * eventBus.on("subject-property-changed", ({ subject, payload }) => {
 *   console.log(subject.name, payload[PayloadConst.PROPERTY_NAME], payload[PayloadConst.VALUE]);
 * });
 * const krules = new KRules({ storage: createMemoryStorage(), eventBus });
 * await krules.subject("user-1").set("status", "active"); // logs: user-1 status active
 * ```
 */
export class EventBus {
  #registrations: Registration[] = [];
  readonly #onError:
    | ((error: unknown, event: SubjectEvent) => void)
    | undefined;

  /**
   * Creates a bus with no handlers.
   *
   * @param options Where handler errors go.
   */
  constructor(options?: EventBusOptions) {
    this.#onError = options?.onError;
  }

  /**
   * Registers a handler for one of the events subjects emit; its payload is
   * typed, and a misspelt type does not compile.
   *
   * @param eventType The event type, e.g. `"subject-property-changed"`.
   * @param handler The function to call with each such event.
   * @returns A function that unregisters the handler; calling it again does nothing.
   */
  on<T extends SubjectEventName>(
    eventType: T,
    handler: EventHandler<SubjectEventPayloads[T]>,
  ): () => void;
  /**
   * Registers a handler for every event type a pattern matches: `*` matches
   * any run of characters and `?` any one character, so `"*"` handles every
   * event and `"subject-property-*"` both property events.
   *
   * @param eventType The pattern.
   * @param handler The function to call with each matching event.
   * @returns A function that unregisters the handler; calling it again does nothing.
   */
  on(eventType: EventPattern, handler: EventHandler): () => void;
  // Narrower than string, so that a call no overload takes is not reported
  // as one the (invisible) implementation would have taken.
  on(
    eventType: SubjectEventName | EventPattern,
    handler: EventHandler<never>,
  ): () => void {
    return this.onCustom(eventType, handler as EventHandler);
  }

  /**
   * Registers a handler for an event type of your own, one that `emit()`
   * sends and subjects do not: the explicit form, so that a misspelt subject
   * event type cannot slip through `on()`. Patterns work as in `on()`.
   *
   * @param eventType The event type or pattern, e.g. `"order.shipped"`.
   * @param handler The function to call with each matching event.
   * @returns A function that unregisters the handler; calling it again does nothing.
   */
  onCustom(eventType: string, handler: EventHandler): () => void {
    if (typeof eventType !== "string") {
      throw new TypeError('The event type must be a string, e.g. "*".');
    }
    if (typeof handler !== "function") {
      throw new TypeError("The event handler must be a function.");
    }
    const registration: Registration = { matches: matcher(eventType), handler };
    this.#registrations = [...this.#registrations, registration];
    return () => {
      this.#registrations = this.#registrations.filter((r) =>
        r !== registration
      );
    };
  }

  static {
    listens = (bus, eventType) => {
      for (const { matches } of bus.#registrations) {
        if (matches(eventType)) return true;
      }
      return false;
    };
  }

  /**
   * Delivers an event to every matching handler, one after another, in the
   * order they were registered. Handlers registered or removed while the
   * event is being delivered take effect from the next event.
   *
   * @param eventType The event type.
   * @param subject The subject the event is about.
   * @param payload The event data.
   * @param extra Context from the caller, passed to handlers as `event.extra`.
   * @returns A promise that resolves when every handler has finished; it
   *   never rejects because of a handler.
   */
  async emit(
    eventType: string,
    subject: Subject,
    payload: Record<string, unknown>,
    extra?: Record<string, unknown>,
  ): Promise<void> {
    const event: SubjectEvent = extra === undefined
      ? { type: eventType, subject, payload }
      : { type: eventType, subject, payload, extra };
    for (const { matches, handler } of this.#registrations) {
      if (!matches(eventType)) continue;
      try {
        await handler(event);
      } catch (error) {
        this.#report(error, event);
      }
    }
  }

  #report(error: unknown, event: SubjectEvent): void {
    if (this.#onError !== undefined) {
      try {
        this.#onError(error, event);
        return;
      } catch (onErrorError) {
        // Falls through: an error reporter that fails must not hide the error.
        error = new AggregateError(
          [error, onErrorError],
          "The event handler failed, and so did the onError callback",
        );
      }
    }
    // deno-lint-ignore no-console -- the documented default sink for handler errors, as in the Python bus
    console.error(
      `An event handler for ${JSON.stringify(event.type)} on subject ${
        JSON.stringify(event.subject.name)
      } failed; the remaining handlers ran. Pass onError to EventBus to handle this yourself.`,
      error,
    );
  }
}

function matcher(pattern: string): (eventType: string) => boolean {
  if (pattern === "*") return () => true;
  if (!/[*?]/.test(pattern)) return (eventType) => eventType === pattern;
  const source = Array.from(
    pattern,
    (char) =>
      char === "*"
        ? ".*"
        : char === "?"
        ? "."
        : char.replace(/[\\^$.|+()[\]{}]/g, "\\$&"),
  ).join("");
  const regex = new RegExp(`^${source}$`, "su");
  return (eventType) => regex.test(eventType);
}

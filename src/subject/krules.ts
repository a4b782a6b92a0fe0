import { createEmptyStorage } from "../storage/empty_storage.ts";
import type { StorageFactory } from "../storage/types.ts";
import { EventBus, listens } from "./event_bus.ts";
import { type EventSink, Subject } from "./subject.ts";

/** Options of the {@linkcode KRules} constructor. */
export interface KRulesOptions {
  /**
   * Opens the storage of each subject, e.g. `createRedisStorage(client)`.
   *
   * @default {createEmptyStorage()}
   */
  storage?: StorageFactory;
  /**
   * Where subjects send their events.
   *
   * @default {a new EventBus}
   */
  eventBus?: EventBus;
}

/** Options of {@linkcode KRules.subject}. */
export interface SubjectFactoryOptions {
  /** What is known about the event that opens the subject; see `Subject.eventInfo()`. */
  eventInfo?: Record<string, unknown>;
  /** The event's payload, passed on to the storage factory. */
  eventData?: unknown;
  /**
   * Whether the subject's reads and writes use its cache when a call does not say.
   *
   * @default {true}
   */
  useCacheDefault?: boolean;
}

/**
 * The entry point: holds the storage factory and the event bus, and opens
 * subjects on them.
 *
 * @example
 * ```ts
 * import { createMemoryStorage, KRules } from "@x/redis-subjects";
 *
 * const krules = new KRules({ storage: createMemoryStorage() });
 * krules.eventBus.on("subject-property-changed", ({ payload }) => {
 *   console.log(payload.property_name, payload.old_value, "->", payload.value);
 * });
 * const device = krules.subject("device-456");
 * await device.set("temperature", 21.5); // logs: temperature undefined -> 21.5
 * await device.store();
 * ```
 */
export class KRules {
  /** The bus every subject of this instance emits its events on. */
  readonly eventBus: EventBus;
  readonly #storage: StorageFactory;
  readonly #events: EventSink;

  /**
   * Creates an instance.
   *
   * @param options The storage factory and the event bus.
   */
  constructor(options?: KRulesOptions) {
    this.#storage = options?.storage ?? createEmptyStorage();
    const eventBus = options?.eventBus ?? new EventBus();
    this.eventBus = eventBus;
    this.#events = {
      listens: (eventType) => listens(eventBus, eventType),
      emit: (eventType, subject, payload, extra) =>
        eventBus.emit(eventType, subject, payload, extra),
    };
  }

  /**
   * Opens a subject. Cheap: nothing is read until the subject is used, and
   * two subjects of the same name are independent caches over the same data.
   *
   * @param name The subject name; an empty name throws `TypeError`.
   * @param options The event context and the default cache use.
   * @returns The subject.
   */
  subject(name: string, options?: SubjectFactoryOptions): Subject {
    const storage = this.#storage(name, {
      eventInfo: options?.eventInfo,
      eventData: options?.eventData,
    });
    return new Subject(name, {
      storage,
      events: this.#events,
      eventInfo: options?.eventInfo,
      useCacheDefault: options?.useCacheDefault,
    });
  }
}

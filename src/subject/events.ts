/**
 * The names of subject events and of their payload keys: KRules' wire
 * format, shared with Python services. Nothing here imports the Subject or
 * the bus, so both can import it.
 *
 * @module
 */

/**
 * The payload keys of subject events. They stay snake_case because they are
 * KRules' wire format, shared with Python services.
 */
export const PayloadConst: {
  readonly PROPERTY_NAME: "property_name";
  readonly VALUE: "value";
  readonly OLD_VALUE: "old_value";
  readonly CORRUPT: "corrupt";
} = {
  /** The name of the property that changed or was deleted. */
  PROPERTY_NAME: "property_name",
  /** The property's new value. */
  VALUE: "value",
  /** The property's value before the change (`null` if it was absent, so the key survives JSON). */
  OLD_VALUE: "old_value",
  /**
   * Marks a deleted field that did not hold valid JSON, whose `old_value` is
   * then `null`: `true` in `subject-property-deleted`, and
   * `{ props, ext_props }` (the names of such fields) in `subject-deleted`.
   * Present only when there was such a field.
   */
  CORRUPT: "corrupt",
} as const;

/** The types of the events a `Subject` emits. */
export const SubjectEventType: {
  readonly PROPERTY_CHANGED: "subject-property-changed";
  readonly PROPERTY_DELETED: "subject-property-deleted";
  readonly SUBJECT_DELETED: "subject-deleted";
} = {
  /** A default property got a different value: payload `{ property_name, old_value, value }`. */
  PROPERTY_CHANGED: "subject-property-changed",
  /** A default property was deleted: payload `{ property_name, old_value }`. */
  PROPERTY_DELETED: "subject-property-deleted",
  /** The whole subject was flushed: payload `{ props, ext_props }`. */
  SUBJECT_DELETED: "subject-deleted",
} as const;

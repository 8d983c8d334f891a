/**
 * What a question asks for, beyond its topic: a quantity, a duration, a frequency, a time, a
 * price, a named product, or whether a particular offer exists. A passage on the right topic
 * that lacks it does not answer ("How many calories should I eat?" is not answered by the
 * protein target, "Is there a student discount?" not by the family plan).
 */

export type Want =
  | "quantity"
  | "duration"
  | "frequency"
  | "time"
  | "price"
  | "product"
  | "offer"
  | "open";

export interface Ask {
  want: Want;
  /** Words of the question that name what is asked about, beyond the kind of thing it is. */
  specific: string[];
  /** What a "how much / how many" question counts ("steps", "carbs"), when it names it. */
  counted: string[];
}

const PRODUCT_NOUN =
  "(?:shoes?|trainers|sneakers|boots|watch(?:es)?|smartwatch(?:es)?|trackers?|apps?|mattress(?:es)?|pillows?|blenders?|mats?|headphones|earbuds|rollers?|kettlebells?|dumbbells?|barbells?|bikes?|treadmills?|scales?|powders?|bars?|gear|equipment|clothes|bras?|socks|books?|novels?|devices?|machines?|bands?|bottles?|curtains|lights?|lamps?|monitors?|brands?|products?)";
const PRODUCT = new RegExp(
  String
    .raw`\bbrands?\b|\b(?:buy|purchase)\b|\b(?:which|what)(?:'s| is| are)?\b[^?.]{0,40}\b${PRODUCT_NOUN}\b[^?.]{0,40}\b(?:should i (?:get|use|download)|do you (?:recommend|like|suggest|use)|(?:is|are) (?:the )?best|works? best|stays? in best|lasts? (?:the )?longest|(?:is|are) good)|\b(?:recommend|suggest)(?: me)? (?:a|an|any|some) (?:good |decent )?[a-z -]{0,20}${PRODUCT_NOUN}\b|\b(?:a good|the best) [a-z -]{0,20}${PRODUCT_NOUN} (?:for|to)\b`,
  "i",
);
const PRICE =
  /\bhow much (?:does|do|is|are|will|would)\b[^?.]{0,50}\b(?:cost|charge|be)\b|\bwhat (?:does|do)\b[^?.]{0,50}\bcost\b|\b(?:price|cost|fee|fees|charge)s?\b(?! of charge)/i;
const OFFER =
  /^(?:(?:and |so |but )?(?:is there|are there|do (?:you|they) (?:have|offer|give|run|do|provide|sell)|does (?:the|your|this) [a-z]+ (?:have|offer|include|give)|do i get|can i get|can i have|can i book|can i transfer|can i pay|do you price[- ]match|what about))\b/i;
const QUANTITY =
  /\bhow (?:much|many|far|heavy|big)\b|\bwhat (?:amount|percentage|weight|dose|distance|heart rate|pace)\b|\bhow many (?:grams|calories|steps|kilos?|kg|litres?|liters?|km)\b/i;
const DURATION = /\bhow long\b|\bfor how long\b|\bhow many (?:minutes|hours|days|weeks|months)\b/i;
const FREQUENCY =
  /\bhow (?:often|frequently)\b|\bhow many times\b|\bhow many (?:days|runs|sessions) (?:a|per|each)\b/i;
const TIME =
  /^(?:and )?(?:when|until when|by when)\b|\bwhat time\b|\bhow (?:late|early|soon)\b|\bby what time\b|\bwhat time of (?:the )?day\b/i;

/** Words that name a kind of offer or fact rather than which one ("a student discount"). */
const GENERIC = new Set(
  ("discount discounts offer offers plan plans option options rate rates deal deals price prices " +
    "cost costs cheaper cheap free membership memberships subscription program programme " +
    "coaching service services available availability possible allowed get have pay paid buy " +
    "sign join someone anything something thing things way ways kind sort type there you we i " +
    "does do is are can could would will still also too really actually please much many long " +
    "often best good way need want like know tell time times").split(" "),
);

const UNITS = new Set(
  ("g gram grams mg milligrams kg kilo kilos kilogram kilograms ml litre litres liter liters l " +
    "cup cups glass glasses serving servings portion portions hour hours minute minutes day days " +
    "week weeks month months time times km kilometres kilometers miles lot lots bit").split(" "),
);
const STOP_COUNTED = new Set(
  ("should do does did is are was were can could will would i you we my your a an the per each " +
    "every in on at to from for with by gives give get need it this that there").split(" "),
);

/** What "how much X / how many Y of Z" counts: X, or Z when Y is a unit. */
function countedOf(question: string): string[] {
  const m = question.toLowerCase().match(/\bhow (?:much|many)\s+(.*)$/);
  if (!m) return [];
  const out: string[] = [];
  for (const word of m[1]!.split(/[^a-z'-]+/)) {
    if (!word || word === "of" || UNITS.has(word)) continue;
    if (STOP_COUNTED.has(word) || out.length === 2) break;
    out.push(word);
  }
  return out;
}

/** Reads what a question asks for. `content` gives a text's content words. */
export function readAsk(question: string, content: (text: string) => string[]): Ask {
  const q = question.trim();
  const specific = content(q).filter((w) => !GENERIC.has(w));
  const counted = countedOf(q).flatMap((w) => content(w));
  const ask = (want: Want): Ask => ({ want, specific, counted });
  if (PRODUCT.test(q)) return ask("product");
  if (OFFER.test(q)) return ask("offer");
  if (PRICE.test(q)) return ask("price");
  if (DURATION.test(q)) return ask("duration");
  if (FREQUENCY.test(q)) return ask("frequency");
  if (QUANTITY.test(q)) return ask("quantity");
  if (TIME.test(q)) return ask("time");
  return ask("open");
}

const NUMBER_WORD =
  "(?:\\d+(?:[.,]\\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|sixty|ninety|hundred|half|quarter|a few|several|once|twice|double)";
const NUMBER = new RegExp(`\\b${NUMBER_WORD}\\b`, "i");
const FREQUENCY_WORDS =
  /\b(?:every|each|once|twice|daily|weekly|monthly|yearly|times? (?:a|per|each)|per (?:day|week|month|year)|a (?:day|week|month|year)|in a row|at any time|any time)\b/i;
const TIME_WORDS =
  /\b(?:\d{1,2}(?::\d\d)? ?(?:am|pm)|morning|afternoon|evening|night|midnight|noon|bedtime|before|after|until|within|by|weekends?|mondays?|tuesdays?|wednesdays?|thursdays?|fridays?|saturdays?|sundays?|day|immediately|any time|at any time|first|last|start|end)\b/i;
const MONEY =
  /(?:€|\$|£)\s?\d|\b\d+(?:[.,]\d+)?\s?(?:euros?|eur|dollars?|usd|pounds?|gbp)\b|\bfree of charge\b|\b(?:costs?|price[sd]?) (?:is |are )?(?:about |around )?\d/i;
const PROPER =
  /(?<![.!?:]\s|^)\b(?:[A-Z][a-z]+[A-Z]\w*|[A-Z][a-z]{2,}(?: [A-Z][a-z]+)*|[A-Z]{2,}\w*|i[A-Z]\w+)\b/;

/** True when a passage's text holds the kind of thing the question asks for. */
export function holdsWant(want: Want, text: string): boolean {
  switch (want) {
    case "quantity":
      return NUMBER.test(text);
    case "duration":
      return NUMBER.test(text) || /\buntil\b/i.test(text);
    case "frequency":
      return FREQUENCY_WORDS.test(text) || NUMBER.test(text);
    case "time":
      return TIME_WORDS.test(text) || NUMBER.test(text);
    case "price":
      return MONEY.test(text);
    case "product":
      return PROPER.test(text);
    case "offer":
    case "open":
      return true;
  }
}

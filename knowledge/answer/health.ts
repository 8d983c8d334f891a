/**
 * Which questions are health questions: they ask for medication or a dose, a diagnosis or a
 * treatment, or describe a symptom or an injury. A coach must never answer those from a passage
 * about something else, so the brain treats them apart (see safety.ts). Word lists, not a model:
 * they are read in a few microseconds, and a miss in either direction is visible in the eval.
 */

export type HealthConcern =
  | "medication"
  | "dose"
  | "diagnosis"
  | "symptom"
  | "injury"
  | "treatment";

export interface HealthReading {
  concern: HealthConcern;
  /** The words that made it a health question (for logs and tests). */
  cues: string[];
  /**
   * The message is about the health matter itself (what it is, what to do, how much to take),
   * not about the account while mentioning it ("I broke my leg, can I pause my membership?").
   */
  asked: boolean;
}

const MEDICATION =
  /\b(?:ibuprofen|paracetamol|acetaminophen|aspirin|naproxen|codeine|tramadol|opioids?|antibiotics?|antidepressants?|ssris?|sertraline|fluoxetine|benzodiazepines?|xanax|valium|statins?|insulin|metformin|steroids?|cortisone|antihistamines?|beta[- ]blockers?|inhalers?|the pill|birth control|contraceptives?|painkillers?|pain ?relievers?|sleeping (?:pills?|tablets?)|sleep aids?|medications?|medicines?|meds|prescriptions?|prescribed|pills?|tablets?|drugs?|supplements?|melatonin)\b/i;
const SUPPLEMENT =
  /\b(?:vitamins?(?: [a-z]\d*)?|creatine|magnesium|zinc|calcium|potassium|omega[- ]?3|fish oil|collagen|ashwagandha|caffeine (?:pills?|tablets?)|pre-?workout|electrolytes?|bcaas?|glutamine|probiotics?|melatonin|cbd|supplements?)\b/i;
const DOSE =
  /\b(?:how (?:much|many)|what (?:dose|dosage|amount)|doses?|dosage|milligrams?|mg|micrograms?|mcg|iu|units?|grams? of|safe (?:amount|limit)|take (?:two|three|\d+)|(?:how|what) often (?:can|should) i take|maximum|max)\b/i;
const DIAGNOSIS =
  /\b(?:is (?:it|this|that) (?:a |an )?(?:torn|broken|fractured?|sprained?|serious|dangerous|something serious|an? (?:injury|infection|tear|fracture|sprain|condition))|do i have (?!to\b)|could (?:it|this|that|my [a-z ]{1,30}) be|what(?:'s| is) wrong with (?:me|my)|why (?:do|does|am|is) (?:i|my) [a-z ]{0,30}(?:hurt|ache|dizzy|faint|numb|tingl|swell|cramp|bleed|sick|nause)|diagnos[ei]s|diagnose|symptoms? of|signs? of (?:a |an )?(?:concussion|infection|fracture|tear|heart|stroke|diabetes|deficiency|anemia|anaemia)|(?:torn|slipped|herniated|bulging) (?:meniscus|ligament|disc|disk|acl|tendon)|tendinitis|tendonitis|bursitis|fasciitis|sciatica|apnea|apnoea|concussion|deficien(?:t|cy)|anemi[ac]|anaemi[ac]|arthritis|hernia|stress fracture|infection|asthma|diabetes)\b/i;
const TREATMENT =
  /\b(?:how (?:do|should|can) i (?:treat|fix|heal|cure|rehab|rehabilitate|recover from|get rid of|relieve|soothe|manage)|(?:treat|treating|treatment|heal|healing|cure|rehab|rehabilitation|remedy|remedies|physio(?:therapy)? exercises?|ice (?:or|and) heat|heat (?:or|and) ice|ice it|ice pack|compression|what (?:stretches|exercises) (?:fix|cure|help with|heal|for))\b)/i;
const INJURY =
  /\b(?:sprain(?:ed)?|strain(?:ed)?|pulled (?:a |my )?(?:muscle|hamstring|calf|groin|back|quad|hip)|torn|tore|tear(?:ed)? (?:my|a)|broke(?:n)? (?:my|a)|fractur(?:e|ed)|twisted (?:my|an?)|dislocat(?:ed|ion)|injur(?:y|ed|ies)|concussion|whiplash|blisters?|bruis(?:e|ed|es))\b/i;
const SYMPTOM =
  /\b(?:pain(?:ful|s)?|hurts?|hurting|aches?|aching|achy|sore(?:ness)?|swell(?:s|ing|ed)?|swollen|numb(?:ness)?|tingl(?:e|ing|es)|dizzy|dizziness|light-?headed|faint(?:ed|ing)?|nause(?:a|ous)|vomit(?:ing)?|palpitations?|heart (?:races|racing|skips|pounds|flutters)|skips? beats?|chest (?:pain|tightness|pressure)|short(?:ness)? of breath|wheez(?:e|ing)|cramp(?:s|ing)?|stitch(?:es)?|stiff(?:ness)?|throb(?:s|bing)?|twinge(?:d|s)?|stabbing|shooting|burning sensation|(?:knees?|hips?|shoulders?|jaw|ankles?|back|neck|wrists?|elbows?) (?:clicks?|clicking|pops?|popping|cracks?|cracking)|bleed(?:s|ing)?|fever|rash|migraines?|headaches?|my period|periods? (?:stopped|stop|missing|irregular)|lost my period|hopeless(?:ness)?|suicid(?:e|al)|self-?harm|panic attacks?|anxiety attacks?|depress(?:ed|ion))\b/i;
const TAKING = /\b(?:take|taking|took|supplements?|pills?|capsules?|doses?|dosage)\b/i;
/** Words that say the question is about the program or the account, whatever it mentions. */
const ADMIN =
  /\b(?:membership|subscription|billing|refund|payments?|price|cost|cancel(?:ling)? (?:my|the)|pause|on hold|freeze|check-?ins?|reschedul\w*|account|the app|my coach|message|support|group chat|community|allowed|program(?:me)?|requires?d?)\b/i;

/** Reads a question (with the earlier one, for a follow-up) as a health question, or not. */
export function readHealth(question: string, context?: string): HealthReading | undefined {
  const text = context ? `${question} ${context}` : question;
  const cues = (re: RegExp) => [...text.matchAll(new RegExp(re.source, "gi"))].map((m) => m[0]);
  const medication = cues(MEDICATION);
  const supplement = cues(SUPPLEMENT);
  const dose = DOSE.test(question) ? cues(DOSE) : [];
  const diagnosis = cues(DIAGNOSIS);
  const treatment = cues(TREATMENT);
  const injury = cues(INJURY);
  const symptom = cues(SYMPTOM);
  let concern: HealthConcern | undefined;
  let found: string[] = [];
  if ((medication.length || supplement.length) && dose.length) {
    [concern, found] = ["dose", [...dose, ...medication, ...supplement]];
  } else if (medication.length) [concern, found] = ["medication", medication];
  else if (diagnosis.length) [concern, found] = ["diagnosis", diagnosis];
  else if (treatment.length && (injury.length || symptom.length)) {
    [concern, found] = ["treatment", [...treatment, ...injury, ...symptom]];
  } else if (injury.length) [concern, found] = ["injury", injury];
  else if (symptom.length) [concern, found] = ["symptom", symptom];
  else if (supplement.length && TAKING.test(text)) [concern, found] = ["medication", supplement];
  if (!concern) return undefined;
  // Describing a symptom to a coach asks what to do about it, unless it is about the account.
  const asked = !ADMIN.test(question);
  return { concern, cues: [...new Set(found.map((c) => c.toLowerCase()))], asked };
}

/** The language a person writes in, detected with franc-min (ISO 639-3, mapped to BCP 47). */
import { franc } from "franc-min";

/** Below this many characters a guess is not worth making. */
export const MIN_LENGTH = 20;

// franc-min's ISO 639-3 codes that have a two-letter BCP 47 tag; others keep theirs.
const TWO_LETTER: Record<string, string> = {
  eng: "en",
  fra: "fr",
  spa: "es",
  deu: "de",
  ita: "it",
  por: "pt",
  nld: "nl",
  rus: "ru",
  ukr: "uk",
  pol: "pl",
  tur: "tr",
  arb: "ar",
  cmn: "zh",
  jpn: "ja",
  kor: "ko",
  hin: "hi",
  ben: "bn",
  ind: "id",
  vie: "vi",
  swe: "sv",
  ron: "ro",
  ces: "cs",
  hun: "hu",
  ell: "el",
  heb: "he",
  tha: "th",
  fas: "fa",
  urd: "ur",
  tam: "ta",
  tel: "te",
  mar: "mr",
  guj: "gu",
  kan: "kn",
  mal: "ml",
  pan: "pa",
  swh: "sw",
  hau: "ha",
  yor: "yo",
  ibo: "ig",
  amh: "am",
  som: "so",
  zul: "zu",
  xho: "xh",
  aka: "ak",
  mya: "my",
  khm: "km",
  uzn: "uz",
  azj: "az",
  kaz: "kk",
  bel: "be",
  bul: "bg",
  srp: "sr",
  hrv: "hr",
  slk: "sk",
  tgl: "tl",
  ceb: "ceb",
  npi: "ne",
  sin: "si",
  run: "rn",
  kin: "rw",
  nya: "ny",
  sna: "sn",
  ilo: "ilo",
  plt: "mg",
};

/** The BCP 47 tag of the language of `text`, or undefined when it is too short to tell. */
export function detectLanguage(text: string): string | undefined {
  if (text.trim().length < MIN_LENGTH) return undefined;
  const code = franc(text, { minLength: MIN_LENGTH });
  if (code === "und") return undefined;
  return TWO_LETTER[code] ?? code;
}

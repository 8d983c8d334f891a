import assert from "node:assert/strict";
import { holdsWant, readAsk } from "./asks.ts";
import { STOPWORDS, tokenize } from "../language/tokens.ts";

const content = (t: string) => tokenize(t).filter((w) => !STOPWORDS.has(w));

Deno.test("readAsk() - what a question asks for beyond its topic", () => {
  const cases: [string, string][] = [
    ["Which brand of running shoes should I buy?", "product"],
    ["What smartwatch do you recommend for tracking my runs?", "product"],
    ["Do you have a student discount?", "offer"],
    ["Is there a cheaper rate for pensioners?", "offer"],
    ["How much does a sports massage cost with you?", "price"],
    ["How long should naps be?", "duration"],
    ["How often do I need new trainers?", "frequency"],
    ["How many steps a day should I walk?", "quantity"],
    ["By what time should I stop drinking coffee?", "time"],
    ["How do I do box breathing?", "open"],
    ["Which stretches help after a run?", "open"],
  ];
  for (const [q, want] of cases) assert.equal(readAsk(q, content).want, want, q);
});

Deno.test("readAsk() - the specific words of an offer and what a quantity counts", () => {
  assert.deepEqual(readAsk("Do you have a student discount?", content).specific, ["student"]);
  assert.deepEqual(readAsk("How many steps a day should I walk?", content).counted, ["steps"]);
  assert.deepEqual(readAsk("How many grams of carbs should I eat per day?", content).counted, [
    "carbs",
  ]);
  assert.deepEqual(readAsk("How long should naps be?", content).counted, []);
});

Deno.test("holdsWant() - a number, a price, a named product", () => {
  assert.equal(holdsWant("quantity", "Aim for about 1.6 grams of protein per kilogram."), true);
  assert.equal(holdsWant("quantity", "Eat slowly and stop when you are full."), false);
  assert.equal(holdsWant("price", "The monthly plan costs 29 euros a month."), true);
  assert.equal(holdsWant("price", "Some members enjoy a massage after training."), false);
  assert.equal(
    holdsWant("product", "The app reads your steps from Apple Health and Google Fit."),
    true,
  );
  assert.equal(holdsWant("product", "Replace your shoes after about 600 to 800 km."), false);
});

/**
 * What every validated part of a request passes through (the admin API's routes, extensions'
 * routes and the app API's): a failed validation, or text Postgres cannot store, is a 422 problem
 * naming the field.
 */
import type { Hook } from "@hono/zod-openapi";
import type { Env } from "hono";
import { fieldErrors, ValidationError } from "../errors.ts";
import { unstorableText } from "./text_safety.ts";

// deno-lint-ignore no-explicit-any -- the hook is shared by routes of every input
export const validationHook = <E extends Env>(): Hook<any, E, any, any> => (result) => {
  const where = result.target === "json" || result.target === "form"
    ? "body"
    : result.target === "param"
    ? "path"
    : result.target;
  if (!result.success) {
    throw new ValidationError(`The request ${where} is invalid`, fieldErrors(where, result.error));
  }
  const unstorable = unstorableText(result.data, where);
  if (unstorable) {
    throw new ValidationError(`The request ${where} has text that cannot be stored`, [unstorable]);
  }
};

/**
 * Builds the widget's bundle (channels/widget/ui/dist/widget.js) with `deno bundle` (esbuild):
 * Preact and the widget in one minified browser script. `deno task build:widget` writes it; the
 * asset test rebuilds it to a temporary file and compares, so the committed bundle is fresh.
 */
export const ENTRY = new URL("./ui/widget.tsx", import.meta.url);
export const OUTPUT = new URL("./ui/dist/widget.js", import.meta.url);

/** Bundles the widget to `out`; throws with the bundler's output when it fails. */
export async function buildWidget(out: URL = OUTPUT): Promise<void> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--platform",
      "browser",
      "--minify",
      "--output",
      out.pathname,
      ENTRY.pathname,
    ],
    stdout: "piped",
    stderr: "piped",
  });
  const { code, stderr } = await cmd.output();
  if (code !== 0) throw new Error(`deno bundle failed: ${new TextDecoder().decode(stderr)}`);
}

if (import.meta.main) await buildWidget();

/**
 * Files named by URL: `?model=<url>&config=<url>&scan=<url>` links (slides, papers) and the bundled demo.
 * Fetched whole into Blobs and handed to the same loaders as picked files.
 */

/** What the bundled demo (public/demo/demo.json) lists; paths relative to that folder. */
export interface DemoManifest {
  title?: string;
  description?: string;
  model: string;
  config?: string | null;
  scan?: string | null;
}

export interface UrlFiles {
  model: string | null;
  config: string | null;
  scan: string | null;
}

/** Limit on one downloaded file (a Sensorium scan zip is a few hundred MB). */
const MAX_DOWNLOAD_BYTES = 2 * 2 ** 30;

export function urlFilesFromQuery(search: string): UrlFiles | null {
  const q = new URLSearchParams(search);
  const files = { model: q.get('model'), config: q.get('config'), scan: q.get('scan') };
  return files.model || files.scan ? files : null;
}

function nameOf(url: URL): string {
  const last = decodeURIComponent(url.pathname.split('/').filter(Boolean).pop() ?? '');
  return last || url.hostname || 'download';
}

/** Downloads `href` (relative to `base`) as a File named after the last path segment. */
export async function fetchAsFile(href: string, base: string): Promise<File> {
  let url: URL;
  try {
    url = new URL(href, base);
  } catch {
    throw new Error(`'${href}' is not a URL`);
  }
  if (!['http:', 'https:', 'blob:', 'data:'].includes(url.protocol))
    throw new Error(`${href}: only http(s) URLs can be loaded`);
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    throw new Error(`could not download ${url.href}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!res.ok) throw new Error(`could not download ${url.href}: HTTP ${res.status} ${res.statusText}`);
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > MAX_DOWNLOAD_BYTES)
    throw new Error(
      `${url.href} is ${(declared / 2 ** 30).toFixed(1)} GiB; the page downloads at most ${MAX_DOWNLOAD_BYTES / 2 ** 30} GiB`,
    );
  const blob = await res.blob();
  return new File([blob], nameOf(url), { type: blob.type });
}

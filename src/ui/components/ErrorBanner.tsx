/** A load or run error, shown until dismissed or replaced; what was loaded before stays loaded. */
export function ErrorBanner({
  message,
  onDismiss,
  testId,
}: {
  message: string | null;
  onDismiss(): void;
  testId: string;
}) {
  if (!message) return null;
  return (
    <div className="error" role="alert" data-testid={testId}>
      <span>{message}</span>
      <button type="button" className="button-quiet" onClick={onDismiss} aria-label="Dismiss error">
        ×
      </button>
    </div>
  );
}

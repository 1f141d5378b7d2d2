import cronstrue from "cronstrue"

/**
 * The cron expression in English ("At 02:00, Monday through Friday"), or null when the describer
 * does not know the form. Quartz (6-7 fields) numbers weekdays from 1 = Sunday; Unix from 0.
 */
export const describeCron = (expression: string): string | null => {
  const quartz = expression.trim().split(/\s+/).length >= 6
  try {
    return cronstrue.toString(expression, {
      dayOfWeekStartIndexZero: !quartz,
      use24HourTimeFormat: true,
      throwExceptionOnParseError: true,
    })
  } catch {
    return null
  }
}

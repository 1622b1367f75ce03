"""After the reception: assignments and slips, unit replies, deadlines, reminders, exports."""

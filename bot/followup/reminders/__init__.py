"""followup/reminders"""

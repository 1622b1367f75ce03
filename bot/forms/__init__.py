"""Reading the registration form (附件2) from .xlsx, .docx and mail bodies."""

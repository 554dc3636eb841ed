"""Offline Mandarin voice IVR for debt-collection calls.

Data flows one way: audio frames → utterance (vad) → hypothesis (asr) → intent (understanding)
→ action (dialog) → prompt (tts) → audio frames.  See README.md, section "Architecture".
"""

__version__ = "0.1.0"

from ivr import logsafe as _logsafe

_logsafe.install()  # every process of the product masks personal data in its log records (issue 13 #8)

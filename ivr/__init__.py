"""Offline Mandarin voice IVR for debt-collection calls.

Data flows one way: audio frames → utterance (vad) → hypothesis (asr) → intent (understanding)
→ action (dialog) → prompt (tts) → audio frames.  See README.md, section "Architecture".
"""

__version__ = "0.1.0"

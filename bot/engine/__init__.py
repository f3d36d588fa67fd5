"""The flow engine: YAML flows that drive both text conversations and phone calls.

Pure: it imports no web framework, database, queue or telephony library and reads no clock;
data and time come in through the `Context` passed to `advance`.
"""

from .context import Context, EffectActions, Identity, Needs, PinResult, ServiceInfo, Verified
from .effects import (
    ConnectPerson,
    Disclosed,
    Effect,
    EndCall,
    OptIn,
    OptOut,
    RaiseAction,
    RecordCheckin,
    RecordFeedback,
    RecordMessage,
    RequestCallback,
    SendText,
    WrongNumber,
    effect_from_dict,
)
from .errors import FlowError, FlowLoadError
from .io import Expect, Input, Pause, Say, Segment, State
from .loader import load_flows
from .model import Flow, FlowSet
from .render import render_text, render_voice, sms_messages
from .runner import EngineError, advance

__all__ = [
    "ConnectPerson", "Context", "Disclosed", "Effect", "EffectActions", "EndCall", "EngineError",
    "Expect", "Flow", "FlowError", "FlowLoadError", "FlowSet", "Identity", "Input", "Needs",
    "OptIn", "OptOut", "Pause", "PinResult", "RaiseAction", "RecordCheckin", "RecordFeedback",
    "RecordMessage", "RequestCallback", "Say", "Segment", "SendText", "ServiceInfo", "State",
    "Verified", "WrongNumber", "advance", "effect_from_dict", "load_flows", "render_text",
    "render_voice", "sms_messages",
]

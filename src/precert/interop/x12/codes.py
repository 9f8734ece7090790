"""X12 5010 code lists the codec validates against and maps from.

Written for precert from the implementation guides' code lists (the facts,
not anyone's text). Each table names its source: the TR3 (005010X217 for the
278, 005010X279A1 for the 270/271, 005010X231A1 for the 999) and the X12 data
element or external code source number. Where a list is knowingly partial the
comment says so, and the codec then checks only the element's syntax.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType


def _table(pairs: dict[str, str]) -> Mapping[str, str]:
    return MappingProxyType(pairs)


# X217 HCR01, data element 306 "Action Code" as restricted by the 278 response TR3.
HCR_ACTIONS: Mapping[str, str] = _table(
    {
        "A1": "Certified in total",
        "A2": "Certified - partial",
        "A3": "Not certified",
        "A4": "Pended",
        "A6": "Modified",
        "C": "Cancelled",
        "CT": "Contact payer",
        "D": "Deferred",
        "IP": "In process",
        "NA": "No action required",
    }
)

# X217 HCR03, X12 external code source 886 "Health Care Services Decision Reason Codes".
# PARTIAL: only the codes we could establish from public material (the TR3 examples
# and X12 interpretations). The codec accepts any 1-30 character value in HCR03 and
# looks its text up here when known.
DECISION_REASONS: Mapping[str, str] = _table(
    {
        "0U": "Additional patient information required",
        "0V": "Requested information not received",
    }
)

# Data element 901 "Reject Reason Code" (AAA03): the union of the values the X217
# and X279A1 TR3s use. Which of these each loop allows is in AAA_REASONS_BY_LOOP.
REJECT_REASONS: Mapping[str, str] = _table(
    {
        "04": "Authorized quantity exceeded",
        "15": "Required application data missing",
        "33": "Input errors",
        "35": "Out of network",
        "41": "Authorization/access restrictions",
        "42": "Unable to respond at current time",
        "43": "Invalid/missing provider identification",
        "44": "Invalid/missing provider name",
        "45": "Invalid/missing provider specialty",
        "46": "Invalid/missing provider phone number",
        "47": "Invalid/missing provider state",
        "48": "Invalid/missing referring provider identification number",
        "49": "Provider is not primary care physician",
        "50": "Provider ineligible for inquiries",
        "51": "Provider not on file",
        "52": "Service dates not within provider plan enrollment",
        "53": "Inquired benefit inconsistent with provider type",
        "54": "Inappropriate product/service ID qualifier",
        "55": "Inappropriate product/service ID",
        "56": "Inappropriate date",
        "57": "Invalid/missing date(s) of service",
        "58": "Invalid/missing date-of-birth",
        "60": "Date of birth follows date(s) of service",
        "61": "Date of death precedes date(s) of service",
        "62": "Date of service not within allowable inquiry period",
        "63": "Date of service in future",
        "64": "Invalid/missing patient ID",
        "65": "Invalid/missing patient name",
        "66": "Invalid/missing patient gender code",
        "67": "Patient not found",
        "68": "Duplicate patient ID number",
        "69": "Inconsistent with patient's age",
        "70": "Inconsistent with patient's gender",
        "71": "Patient birth date does not match that for the patient on the database",
        "72": "Invalid/missing subscriber/insured ID",
        "73": "Invalid/missing subscriber/insured name",
        "74": "Invalid/missing subscriber/insured gender code",
        "75": "Subscriber/insured not found",
        "76": "Duplicate subscriber/insured ID number",
        "77": "Subscriber found, patient not found",
        "78": "Subscriber/insured not in group/plan identified",
        "79": "Invalid participant identification",
        "80": "No response received - transaction terminated",
        "95": "Patient not eligible",
        "97": "Invalid or missing provider address",
        "98": "Experimental service or procedure",
        "AA": "Authorization number not found",
        "AE": "Requires primary care physician authorization",
        "AF": "Invalid/missing diagnosis code(s)",
        "AG": "Invalid/missing procedure code(s)",
        "AO": "Additional patient condition information required",
        "CI": "Certification information does not match patient",
        "E8": "Requires medical review",
        "IA": "Invalid authorization number format",
        "MA": "Missing authorization number",
        "T4": "Payer name or identifier missing",
        "T5": "Certification information missing",
    }
)

# Data element 889 "Follow-up Action Code" (AAA04), union over X217 and X279A1.
FOLLOW_UP_ACTIONS: Mapping[str, str] = _table(
    {
        "C": "Please correct and resubmit",
        "N": "Resubmission not allowed",
        "P": "Please resubmit original transaction",
        "R": "Resubmission allowed",
        "S": "Do not resubmit; inquiry initiated to a third party",
        "W": "Please wait 30 days and resubmit",
        "X": "Please wait 10 days and resubmit",
        "Y": "Do not resubmit; we will hold your request and respond again shortly",
    }
)


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


_278_PROVIDER = _codes("15 33 35 41 43 44 45 46 47 49 51 52 79 97")
_278_EVENT = _codes("15 33 52 56 57 60 61 62 63 AF AG AO E8 IA MA T5")
_271_SOURCE = _codes("04 41 42 79 80 T4")
_271_MEMBER = _codes(
    "15 35 42 43 45 47 48 49 51 52 56 57 58 60 61 62 63 64 65 66 67 68 69 70 71 72 73 74 "
    "75 76 77 78 98 AA AE AF AG AO CI E8 IA MA"
)
_271_BENEFIT = _codes("15 33 52 53 54 55 56 57 60 61 62 63 69 70 98 AA AE AF AG AO CI E8 IA MA")

# AAA03 values allowed at each loop: (transaction set, loop id) -> codes.
# Sources: 005010X217 section 2.4 (278 response AAA segments per loop) and
# 005010X279A1 section 2.4 (271 AAA segments per loop).
AAA_REASONS_BY_LOOP: Mapping[tuple[str, str], frozenset[str]] = MappingProxyType(
    {
        ("278", "2000A"): _codes("04 41 42 79"),
        ("278", "2010A"): _codes("41 42 79 80 T4"),
        ("278", "2010B"): _278_PROVIDER,
        ("278", "2010C"): _codes("15 33 35 42 58 64 65 66 67 68 71 72 73 74 75 76 78 95"),
        ("278", "2010D"): _codes("15 33 58 64 65 66 67 68 71 77 95"),
        ("278", "2000E"): _278_EVENT,
        ("278", "2010EA"): _278_PROVIDER,
        ("278", "2000F"): _278_EVENT,
        ("278", "2010F"): _278_PROVIDER,
        ("271", "2000A"): _codes("04 41 42 79"),
        ("271", "2100A"): _271_SOURCE,
        ("271", "2100B"): _codes("15 41 43 44 45 46 47 48 50 51 79 97 T4"),
        ("271", "2100C"): _271_MEMBER,
        ("271", "2110C"): _271_BENEFIT,
        ("271", "2100D"): _271_MEMBER,
        ("271", "2110D"): _271_BENEFIT,
    }
)

# AAA04 values allowed at each loop, same sources as above.
AAA_FOLLOW_UPS_BY_LOOP: Mapping[tuple[str, str], frozenset[str]] = MappingProxyType(
    {
        ("278", "2000A"): _codes("N P Y"),
        ("278", "2010A"): _codes("N P Y"),
        ("278", "2010B"): _codes("C N P Y"),
        ("278", "2010C"): _codes("C N"),
        ("278", "2010D"): _codes("C N"),
        ("278", "2000E"): _codes("C N"),
        ("278", "2010EA"): _codes("C N"),
        ("278", "2000F"): _codes("C N"),
        ("278", "2010F"): _codes("C N"),
        ("271", "2000A"): _codes("C N P R S Y"),
        ("271", "2100A"): _codes("C N P R S W X Y"),
        ("271", "2100B"): _codes("C N P R S W X Y"),
        ("271", "2100C"): _codes("C N P R S W X Y"),
        ("271", "2110C"): _codes("C N R W X Y"),
        ("271", "2100D"): _codes("C N P R S W X Y"),
        ("271", "2110D"): _codes("C N R W X Y"),
    }
)

# X217 UM01, data element 1525 "Request Category Code".
REQUEST_CATEGORIES: Mapping[str, str] = _table(
    {
        "AR": "Admission review",
        "HS": "Health services review",
        "IN": "Individual (medical services reservation)",
        "SC": "Specialty care review",
    }
)

# X217 UM02, data element 1322 "Certification Type Code".
CERTIFICATION_TYPES: Mapping[str, str] = _table(
    {
        "1": "Appeal - immediate",
        "2": "Appeal - standard",
        "3": "Cancel",
        "4": "Extension",
        "I": "Initial",
        "S": "Revised",
    }
)

# X217 UM04-2, data element 1332 "Facility Code Qualifier".
FACILITY_CODE_QUALIFIERS: Mapping[str, str] = _table(
    {
        "A": "Uniform billing claim form bill type",
        "B": "Place of service codes for professional or dental services",
    }
)

# X217 UM06, data element 1338 "Level of Service Code".
LEVELS_OF_SERVICE: Mapping[str, str] = _table({"03": "Emergency", "E": "Elective", "U": "Urgent"})

# Data element 1365 "Service Type Code" (UM03, EQ01, EB03) as listed in 005010X279A1.
SERVICE_TYPES: Mapping[str, str] = _table(
    {
        "1": "Medical care",
        "2": "Surgical",
        "3": "Consultation",
        "4": "Diagnostic X-ray",
        "5": "Diagnostic lab",
        "6": "Radiation therapy",
        "7": "Anesthesia",
        "8": "Surgical assistance",
        "9": "Other medical",
        "10": "Blood charges",
        "11": "Used durable medical equipment",
        "12": "Durable medical equipment purchase",
        "13": "Ambulatory service center facility",
        "14": "Renal supplies in the home",
        "15": "Alternate method dialysis",
        "16": "Chronic renal disease (CRD) equipment",
        "17": "Pre-admission testing",
        "18": "Durable medical equipment rental",
        "19": "Pneumonia vaccine",
        "20": "Second surgical opinion",
        "21": "Third surgical opinion",
        "22": "Social work",
        "23": "Diagnostic dental",
        "24": "Periodontics",
        "25": "Restorative",
        "26": "Endodontics",
        "27": "Maxillofacial prosthetics",
        "28": "Adjunctive dental services",
        "30": "Health benefit plan coverage",
        "32": "Plan waiting period",
        "33": "Chiropractic",
        "34": "Chiropractic office visits",
        "35": "Dental care",
        "36": "Dental crowns",
        "37": "Dental accident",
        "38": "Orthodontics",
        "39": "Prosthodontics",
        "40": "Oral surgery",
        "41": "Routine (preventive) dental",
        "42": "Home health care",
        "43": "Home health prescriptions",
        "44": "Home health visits",
        "45": "Hospice",
        "46": "Respite care",
        "47": "Hospital",
        "48": "Hospital - inpatient",
        "49": "Hospital - room and board",
        "50": "Hospital - outpatient",
        "51": "Hospital - emergency accident",
        "52": "Hospital - emergency medical",
        "53": "Hospital - ambulatory surgical",
        "54": "Long term care",
        "55": "Major medical",
        "56": "Medically related transportation",
        "57": "Air transportation",
        "58": "Cabulance",
        "59": "Licensed ambulance",
        "60": "General benefits",
        "61": "In-vitro fertilization",
        "62": "MRI/CAT scan",
        "63": "Donor procedures",
        "64": "Acupuncture",
        "65": "Newborn care",
        "66": "Pathology",
        "67": "Smoking cessation",
        "68": "Well baby care",
        "69": "Maternity",
        "70": "Transplants",
        "71": "Audiology exam",
        "72": "Inhalation therapy",
        "73": "Diagnostic medical",
        "74": "Private duty nursing",
        "75": "Prosthetic device",
        "76": "Dialysis",
        "77": "Otological exam",
        "78": "Chemotherapy",
        "79": "Allergy testing",
        "80": "Immunizations",
        "81": "Routine physical",
        "82": "Family planning",
        "83": "Infertility",
        "84": "Abortion",
        "85": "AIDS",
        "86": "Emergency services",
        "87": "Cancer",
        "88": "Pharmacy",
        "89": "Free standing prescription drug",
        "90": "Mail order prescription drug",
        "91": "Brand name prescription drug",
        "92": "Generic prescription drug",
        "93": "Podiatry",
        "94": "Podiatry - office visits",
        "95": "Podiatry - nursing home visits",
        "96": "Professional (physician)",
        "97": "Anesthesiologist",
        "98": "Professional (physician) visit - office",
        "99": "Professional (physician) visit - inpatient",
        "A0": "Professional (physician) visit - outpatient",
        "A1": "Professional (physician) visit - nursing home",
        "A2": "Professional (physician) visit - skilled nursing facility",
        "A3": "Professional (physician) visit - home",
        "A4": "Psychiatric",
        "A5": "Psychiatric - room and board",
        "A6": "Psychotherapy",
        "A7": "Psychiatric - inpatient",
        "A8": "Psychiatric - outpatient",
        "A9": "Rehabilitation",
        "AA": "Rehabilitation - room and board",
        "AB": "Rehabilitation - inpatient",
        "AC": "Rehabilitation - outpatient",
        "AD": "Occupational therapy",
        "AE": "Physical medicine",
        "AF": "Speech therapy",
        "AG": "Skilled nursing care",
        "AH": "Skilled nursing care - room and board",
        "AI": "Substance abuse",
        "AJ": "Alcoholism",
        "AK": "Drug addiction",
        "AL": "Vision (optometry)",
        "AM": "Frames",
        "AN": "Routine exam",
        "AO": "Lenses",
        "AQ": "Nonmedically necessary physical",
        "AR": "Experimental drug therapy",
        "B1": "Burn care",
        "B2": "Brand name prescription drug - formulary",
        "B3": "Brand name prescription drug - non-formulary",
        "BA": "Independent medical evaluation",
        "BB": "Partial hospitalization (psychiatric)",
        "BC": "Day care (psychiatric)",
        "BD": "Cognitive therapy",
        "BE": "Massage therapy",
        "BF": "Pulmonary rehabilitation",
        "BG": "Cardiac rehabilitation",
        "BH": "Pediatric",
        "BI": "Nursery",
        "BJ": "Skin",
        "BK": "Orthopedic",
        "BL": "Cardiac",
        "BM": "Lymphatic",
        "BN": "Gastrointestinal",
        "BP": "Endocrine",
        "BQ": "Neurology",
        "BR": "Eye",
        "BS": "Invasive procedures",
        "BT": "Gynecological",
        "BU": "Obstetrical",
        "BV": "Obstetrical/gynecological",
        "BW": "Mail order prescription drug: brand name",
        "BX": "Mail order prescription drug: generic",
        "BY": "Physician visit - office: sick",
        "BZ": "Physician visit - office: well",
        "C1": "Coronary care",
        "CA": "Private duty nursing - inpatient",
        "CB": "Private duty nursing - home",
        "CC": "Surgical benefits - professional (physician)",
        "CD": "Surgical benefits - facility",
        "CE": "Mental health provider - inpatient",
        "CF": "Mental health provider - outpatient",
        "CG": "Mental health facility - inpatient",
        "CH": "Mental health facility - outpatient",
        "CI": "Substance abuse facility - inpatient",
        "CJ": "Substance abuse facility - outpatient",
        "CK": "Screening X-ray",
        "CL": "Screening laboratory",
        "CM": "Mammogram, high risk patient",
        "CN": "Mammogram, low risk patient",
        "CO": "Flu vaccination",
        "CP": "Eyewear and eyewear accessories",
        "CQ": "Case management",
        "DG": "Dermatology",
        "DM": "Durable medical equipment",
        "DS": "Diabetic supplies",
        "GF": "Generic prescription drug - formulary",
        "GN": "Generic prescription drug - non-formulary",
        "GY": "Allergy",
        "IC": "Intensive care",
        "MH": "Mental health",
        "NI": "Neonatal intensive care",
        "ON": "Oncology",
        "PT": "Physical therapy",
        "PU": "Pulmonary",
        "RN": "Renal",
        "RT": "Residential psychiatric treatment",
        "TC": "Transitional care",
        "TN": "Transitional nursery care",
        "UC": "Urgent care",
    }
)

# X279A1 EB01, data element 1390 "Eligibility or Benefit Information Code".
BENEFIT_INFORMATION: Mapping[str, str] = _table(
    {
        "1": "Active coverage",
        "2": "Active - full risk capitation",
        "3": "Active - services capitated",
        "4": "Active - services capitated to primary care physician",
        "5": "Active - pending investigation",
        "6": "Inactive",
        "7": "Inactive - pending eligibility update",
        "8": "Inactive - pending investigation",
        "A": "Co-insurance",
        "B": "Co-payment",
        "C": "Deductible",
        "CB": "Coverage basis",
        "D": "Benefit description",
        "E": "Exclusions",
        "F": "Limitations",
        "G": "Out of pocket (stop loss)",
        "H": "Unlimited",
        "I": "Non-covered",
        "J": "Cost containment",
        "K": "Reserve",
        "L": "Primary care provider",
        "M": "Pre-existing condition",
        "MC": "Managed care coordinator",
        "N": "Services restricted to following provider",
        "O": "Not deemed a medical necessity",
        "P": "Benefit disclaimer",
        "Q": "Second surgical opinion required",
        "R": "Other or additional payor",
        "S": "Prior year(s) history",
        "T": "Card(s) reported lost/stolen",
        "U": "Contact following entity for eligibility or benefit information",
        "V": "Cannot process",
        "W": "Other source of data",
        "X": "Health care facility",
        "Y": "Spend down",
    }
)

#: EB01 values that mean the member has coverage (X279A1 EB01 codes 1-5).
ACTIVE_BENEFIT_CODES = frozenset({"1", "2", "3", "4", "5"})
#: EB01 values that mean the member has no coverage (X279A1 EB01 codes 6-8).
INACTIVE_BENEFIT_CODES = frozenset({"6", "7", "8"})

# 999 IK304, data element 720 "Segment Syntax Error Code" (005010X231A1).
SEGMENT_SYNTAX_ERRORS: Mapping[str, str] = _table(
    {
        "1": "Unrecognized segment ID",
        "2": "Unexpected segment",
        "3": "Required segment missing",
        "4": "Loop occurs over maximum times",
        "5": "Segment exceeds maximum use",
        "6": "Segment not in defined transaction set",
        "7": "Segment not in proper sequence",
        "8": "Segment has data element errors",
        "I4": "Implementation 'not used' segment present",
        "I6": "Implementation dependent segment missing",
        "I7": "Implementation loop occurs under minimum times",
        "I8": "Implementation segment below minimum use",
        "I9": "Implementation dependent 'not used' segment present",
    }
)

# 999 IK403, data element 621 "Implementation Data Element Syntax Error Code" (X231A1).
ELEMENT_SYNTAX_ERRORS: Mapping[str, str] = _table(
    {
        "1": "Required data element missing",
        "2": "Conditional required data element missing",
        "3": "Too many data elements",
        "4": "Data element too short",
        "5": "Data element too long",
        "6": "Invalid character in data element",
        "7": "Invalid code value",
        "8": "Invalid date",
        "9": "Invalid time",
        "10": "Exclusion condition violated",
        "12": "Too many repetitions",
        "13": "Too many components",
        "I6": "Code value not used in implementation",
        "I9": "Implementation dependent data element missing",
        "I10": "Implementation 'not used' data element present",
        "I11": "Implementation too few repetitions",
        "I12": "Implementation pattern match failure",
        "I13": "Implementation dependent 'not used' data element present",
    }
)

# 999 IK502-IK506, data element 618 "Implementation Transaction Set Syntax Error Code".
TRANSACTION_SET_ERRORS: Mapping[str, str] = _table(
    {
        "1": "Transaction set not supported",
        "2": "Transaction set trailer missing",
        "3": "Transaction set control number in header and trailer do not match",
        "4": "Number of included segments does not match actual count",
        "5": "One or more segments in error",
        "6": "Missing or invalid transaction set identifier",
        "7": "Missing or invalid transaction set control number",
        "18": "Transaction set not in functional group",
        "19": "Invalid transaction set implementation convention reference",
        "23": "Transaction set control number not unique within the functional group",
        "I5": "Implementation one or more segments in error",
        "I6": "Implementation convention not supported",
    }
)

# 999 AK905-AK909, data element 716 "Functional Group Syntax Error Code".
GROUP_ERRORS: Mapping[str, str] = _table(
    {
        "1": "Functional group not supported",
        "2": "Functional group version not supported",
        "3": "Functional group trailer missing",
        "4": "Group control number in the functional group header and trailer do not agree",
        "5": "Number of included transaction sets does not match actual count",
        "6": "Group control number violates syntax",
        "19": "Functional group control number not unique within interchange",
    }
)

# TA1 TA105, data element I18 "Interchange Note Code".
INTERCHANGE_NOTES: Mapping[str, str] = _table(
    {
        "001": "The interchange control number in the header and trailer do not match",
        "014": "Invalid interchange date value",
        "015": "Invalid interchange time value",
        "017": "Invalid interchange version ID value",
        "018": "Invalid interchange control number value",
        "020": "Invalid test indicator value",
        "021": "Invalid number of included groups value",
        "022": "Invalid control structure",
        "023": "Improper (premature) end-of-file (transmission)",
        "024": "Invalid interchange content (e.g., invalid GS segment)",
        "026": "Invalid data element separator",
        "027": "Invalid component element separator",
    }
)

#: GS01 functional identifier each supported transaction set travels in (X12 data element 479).
FUNCTIONAL_IDS: Mapping[str, str] = _table({"270": "HS", "271": "HB", "278": "HI", "999": "FA"})

#: ST03 implementation conventions we implement, by transaction set.
CONVENTIONS: Mapping[str, str] = _table(
    {
        "270": "005010X279A1",
        "271": "005010X279A1",
        "278": "005010X217",
        "999": "005010X231A1",
    }
)

#: ST03 of the 278 inquiry and its response (Health Care Services Review - Inquiry and
#: Response), read and written beside the X217 278 by its own grammar (grammar.py).
INQUIRY_CONVENTION = "005010X215"

#: Earlier releases of the same guides that we read, with a warning (see docs/x12.md).
TOLERATED_CONVENTIONS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "270": frozenset({"005010X279"}),
        "271": frozenset({"005010X279"}),
        "999": frozenset({"005010X231"}),
    }
)
